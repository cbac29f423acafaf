// Must compile: kernels/ sees base/ and kernels/.
#include "base/error.h"
#include "kernels/vq.h"
