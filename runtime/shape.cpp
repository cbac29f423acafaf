#include "runtime/shape.h"

#include "base/error.h"

namespace lvk {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  LVK_CHECK(dims.size() <= kMaxRank, "shape: rank ", dims.size(), " exceeds the maximum of ", kMaxRank);
  for (size_t i = 0; i < dims.size(); ++i) {
    LVK_CHECK(dims[i] >= 0, "shape: dimension ", i, " is ", dims[i], "; extents must be >= 0");
    dims_[i] = dims[i];
  }
  rank_ = static_cast<int>(dims.size());
}

int64_t Shape::operator[](int axis) const {
  int a = axis < 0 ? axis + rank_ : axis;
  LVK_CHECK(a >= 0 && a < rank_, "shape: axis ", axis, " out of range for ", str());
  return dims_[a];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

}  // namespace lvk
