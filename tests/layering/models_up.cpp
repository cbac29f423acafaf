// Must not compile: models/ sees no tool.
#include "tools/commands.h"
