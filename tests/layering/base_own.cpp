// Must compile: base/ sees itself.
#include "base/error.h"
#include "base/philox.h"
