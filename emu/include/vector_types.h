#pragma once
#include "lvk_emu/vector_types.h"
