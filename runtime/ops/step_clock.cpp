#include "runtime/ops/step_clock.h"

#include <cstring>

#include "runtime/op.h"

namespace lvk {

namespace {
kernels::StepState* state_ptr(const Tensor& t) {
  return reinterpret_cast<kernels::StepState*>(t.data<int32_t>());
}
}  // namespace

StepClock::StepClock(Device device, const std::vector<float>& table, int64_t rows, int columns)
    : device_(device), columns_(columns), rows_(rows) {
  LVK_CHECK(rows >= 1 && columns >= 1 && columns <= kernels::kMaxStepScalars, "StepClock: a table of ", rows, " x ",
            columns, " scalars; need >= 1 row and 1..", kernels::kMaxStepScalars, " columns");
  LVK_CHECK(static_cast<int64_t>(table.size()) == rows * columns, "StepClock: table holds ", table.size(),
            " values, expected ", rows, " x ", columns);
  table_ = Tensor::from_vector(table, {rows, columns}, device);
  state_ = Tensor::zeros({kernels::kStepStateWords}, DType::i32, device);
  for (int j = 0; j < columns; ++j) scalars_.push_back(Tensor::from_vector(std::vector<float>{table[j]}, {1}, device));
  skipped_flag_ = Tensor::zeros({1}, DType::f32, device);
  write(kernels::StepState{});
}

const Tensor& StepClock::scalar(int column) const {
  LVK_CHECK(column >= 0 && column < columns_, "StepClock: no scalar column ", column, " (", columns_, " columns)");
  return scalars_[static_cast<size_t>(column)];
}

const kernels::StepState* StepClock::state() const {
  return state_ptr(state_);
}
const uint64_t* StepClock::noise_base() const {
  return &state_ptr(state_)->noise_base;
}

void StepClock::begin() {
  OpScope op("step_begin");
  kernels::StepScalarSlots slots{};
  slots.count = columns_;
  for (int j = 0; j < columns_; ++j) slots.slot[j] = scalars_[static_cast<size_t>(j)].data<float>();
  LVK_DISPATCH(device_, step_begin, state_ptr(state_), slots, table_.data<float>(), rows_);
}

void StepClock::guard(const Tensor& loss, const Tensor& grad_norm, float beta1, float beta2) {
  OpScope op("step_guard");
  for (const Tensor* t : {&loss, &grad_norm})
    if (t->defined()) {
      check_dtype(op.name(), "scalar", *t, DType::f32);
      LVK_CHECK(t->numel() == 1 && t->device() == device_, op.name(), ": expected one element on ", device_.str(),
                ", got ", t->str());
    }
  LVK_DISPATCH(device_, step_guard, state_ptr(state_), skipped_flag_.data<float>(), data_or_null(loss),
               data_or_null(grad_norm), beta1, beta2);
}

void StepClock::end() {
  OpScope op("step_end");
  LVK_DISPATCH(device_, step_end, state_ptr(state_));
}

kernels::StepState StepClock::read() const {
  const std::vector<int32_t> words = state_.to_vector<int32_t>();
  kernels::StepState s;
  std::memcpy(&s, words.data(), sizeof(s));
  return s;
}

void StepClock::write(const kernels::StepState& s) {
  copy_bytes(state_.raw(), device_, &s, Device::cpu(), sizeof(s));
}

ScalarRing::ScalarRing(Device device, int64_t rows, int columns) : rows_(rows), columns_(columns) {
  LVK_CHECK(rows >= 1, "ScalarRing: rows=", rows, " must be >= 1");
  LVK_CHECK(columns >= 1 && columns <= kernels::kMaxRecordedScalars, "ScalarRing: ", columns,
            " figures per step; between 1 and ", kernels::kMaxRecordedScalars, " are supported");
  ring_ = Tensor::zeros({rows, columns}, DType::f32, device);
}

void ScalarRing::record(const StepClock& clock, const std::vector<Tensor>& figures) {
  OpScope op("record_scalars");
  LVK_CHECK(static_cast<int>(figures.size()) == columns_, op.name(), ": ", figures.size(), " figures for a ring of ",
            columns_, " columns");
  LVK_CHECK(clock.device() == ring_.device(), op.name(), ": the clock is on ", clock.device().str(), ", the ring on ",
            ring_.device().str());
  kernels::RecordedScalars src{};
  src.count = columns_;
  for (size_t j = 0; j < figures.size(); ++j) {
    const Tensor& t = figures[j];
    check_defined(op.name(), "figure", t);
    check_dtype(op.name(), "figure", t, DType::f32);
    LVK_CHECK(t.numel() == 1 && t.device() == ring_.device(), op.name(), ": figure ", j, " is ", t.str(),
              "; expected one element on ", ring_.device().str());
    src.source[j] = t.data<float>();
  }
  LVK_DISPATCH(clock.device(), record_scalars, ring_.data<float>(), rows_, clock.state(), src);
}

std::vector<std::vector<float>> ScalarRing::read(int64_t first, int64_t last) const {
  LVK_CHECK(first >= 0 && last >= first && last - first < rows_, "ScalarRing::read: steps ", first, "..", last,
            " do not fit a ring of ", rows_, " rows");
  const std::vector<float> all = ring_.to_vector<float>();
  const size_t cols = static_cast<size_t>(columns_);
  std::vector<std::vector<float>> rows;
  for (int64_t s = first; s <= last; ++s) {
    const auto* row = all.data() + static_cast<size_t>(s % rows_) * cols;
    rows.emplace_back(row, row + cols);
  }
  return rows;
}

}  // namespace lvk
