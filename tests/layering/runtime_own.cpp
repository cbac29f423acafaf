// Must compile: runtime/ sees base/, kernels/ and runtime/.
#include "base/error.h"
#include "kernels/vq.h"
#include "runtime/tensor.h"
