// The extension module lvk._lvk: lvk errors become ValueError, CUDA availability is reported,
// and the op families register their functions. The public API is the Python package around it.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "arrays.h"
#include "base/error.h"
#include "recording.h"
#include "runtime/context.h"

namespace lvkpy {
void bind_vq(nb::module_& m);
void bind_latent(nb::module_& m);
}  // namespace lvkpy

NB_MODULE(_lvk, m) {
  namespace nb = nanobind;
  // lvk::Error messages already name the op, the argument and what was expected.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const lvk::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  // Recordings held by torch autograd graphs alive at interpreter exit are not leaks worth a report.
  nb::set_leak_warnings(false);
  m.def("cuda_status", [] {
    const lvk::CudaStatus& st = lvk::cuda_status();
    nb::dict d;
    d["built"] = st.built;
    d["usable"] = st.usable;
    d["emulated"] = st.emulated;
    d["reason"] = st.reason;
    d["devices"] = st.devices.size();
    return d;
  });
  m.attr("__version__") = LVK_VERSION;
  lvkpy::bind_recording(m);
  lvkpy::bind_vq(m);
  lvkpy::bind_latent(m);
}
