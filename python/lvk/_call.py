"""One path from a public function to the extension and back: arguments prepared, the stream
chosen, results converted to the caller's kind and, for recorded calls, a Backward attached."""
import numbers

import numpy as np

from . import _arrays


class Backward:
    """The gradients of one recorded call (requires_grad=True). Call it once with one gradient per
    differentiable output (None for an output that received none; a number for a scalar loss on the
    CPU), in the order the function documents; it returns the inputs' gradients as a tuple, in the
    caller's array kind (None where nothing flowed). The forward is not recomputed: the inputs must
    not be modified in place before this call."""

    def __init__(self, recording, template, stream):
        self._recording, self._template, self._stream = recording, template, stream

    def __call__(self, *grads):
        prepared = [None if g is None
                    else np.full(1, g, np.float32) if isinstance(g, numbers.Number)
                    else _arrays.prepare(g) for g in grads]
        out = self._recording.backward(prepared, self._stream)
        return tuple(_arrays.like(self._template, g) for g in out)


def call(extension_fn, template, stream, *args, record=None):
    """Runs extension_fn(*args, [record,] stream=...) with arrays prepared for DLPack. Returns the
    converted result, and with record given, (result, Backward or None)."""
    stream = _arrays.stream_of(template, stream)
    args = [_arrays.prepare(a) if hasattr(a, "__dlpack__") or hasattr(a, "__array_interface__") else a
            for a in args]
    if record is None:
        return _arrays.like(template, extension_fn(*args, stream=stream))
    result, recording = extension_fn(*args, record, stream=stream)
    backward = Backward(recording, template, stream) if recording is not None else None
    return _arrays.like(template, result), backward
