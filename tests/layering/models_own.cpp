// Must compile: models/ sees every layer up to models/.
#include "models/module.h"
#include "runtime/tensor.h"
