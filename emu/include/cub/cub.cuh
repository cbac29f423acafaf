#pragma once
// All of the emulator's CUB.
#include "cub/block/block_reduce.cuh"
#include "cub/device/device_radix_sort.cuh"
#include "cub/device/device_scan.cuh"
#include "cub/thread/thread_operators.cuh"
