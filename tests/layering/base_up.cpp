// Must not compile: base/ sees no layer above it.
#include "kernels/vq.h"
