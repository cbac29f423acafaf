#pragma once
// The foundation's ops, one header per implementation file: fills, random fills and copies
// (creation.h), elementwise arithmetic (elementwise.h), reductions (reduce.h), the matrix product
// (matmul.h). Every op checks its operands, runs the CPU or CUDA twin by device and, while a Tape
// records, registers its backward. f32 unless stated.
#include "runtime/ops/creation.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
