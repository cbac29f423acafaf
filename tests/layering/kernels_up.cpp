// Must not compile: kernels/ sees base/ and kernels/ only.
#include "runtime/tensor.h"
