// Must not compile: runtime/ sees base/, kernels/ and runtime/ only.
#include "models/module.h"
