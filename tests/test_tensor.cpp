// Tensor, Shape, devices and the context's behaviour without a GPU.
#include <cstring>

#include "runtime/context.h"
#include "runtime/ops/basic.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

TEST(Shape, ReportsRankNumelAndText) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s[-1], 4);
  EXPECT_EQ(s.str(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ((Shape{5, 0}).numel(), 0);
}

TEST(Shape, RejectsBadExtents) {
  EXPECT_LVK_ERROR((Shape{1, 2, 3, 4, 5, 6}), "rank 6 exceeds");
  EXPECT_LVK_ERROR((Shape{3, -1}), "dimension 1 is -1");
  EXPECT_LVK_ERROR((Shape{3})[1], "axis 1 out of range");
}

TEST(Tensor, RoundTripsValuesAndKeepsLargeExtents) {
  const std::vector<float> v = random_values(12, 1);
  Tensor t = Tensor::from_vector(v, {3, 4});
  EXPECT_EQ(t.str(), "f32[3, 4] on cpu");
  EXPECT_EQ(t.to_vector<float>(), v);
  EXPECT_EQ(t.clone().to_vector<float>(), v);
  EXPECT_NE(t.clone().raw(), t.raw());
  Tensor i = Tensor::from_vector<int32_t>({1, -2, 3}, {3});
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 3}));
  Tensor big = Tensor::empty({int64_t(1) << 31, 0});  // 64-bit extents, zero bytes
  EXPECT_EQ(big.numel(), 0);
  EXPECT_EQ(big.dim(0), int64_t(1) << 31);
}

TEST(Tensor, ViewSharesStorageAndChecksCount) {
  Tensor t = Tensor::zeros({2, 6});
  Tensor v = t.view({3, 4});
  EXPECT_EQ(v.raw(), t.raw());
  EXPECT_LVK_ERROR(t.view({5}), "cannot view f32[2, 6] on cpu as [5]");
}

TEST(Tensor, ReportsMisuseClearly) {
  Tensor f = Tensor::zeros({2});
  EXPECT_LVK_ERROR(f.data<int32_t>(), "data<i32>() on a f32[2]");
  EXPECT_LVK_ERROR(f.to_vector<int32_t>(), "to_vector<i32>");
  EXPECT_LVK_ERROR(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), "got 3 values for shape [2, 2]");
  EXPECT_LVK_ERROR(Tensor::empty({2}, DType::bf16), "bf16 is not implemented");
  EXPECT_LVK_ERROR(f.item(), "item() needs one element");
  EXPECT_LVK_ERROR(Tensor().shape(), "undefined tensor");
  Tensor i = Tensor::zeros({2}, DType::i32);
  EXPECT_LVK_ERROR(i.set_requires_grad(true), "only f32 tensors can require grad");
}

TEST(Context, DiscoveryNeverCrashesAndExplainsItself) {
  const CudaStatus& s = cuda_status();
  if (!s.usable) {
    EXPECT_FALSE(s.reason.empty());
    EXPECT_EQ(parse_device("auto"), Device::cpu());
    EXPECT_LVK_ERROR(parse_device("cuda"), "no usable CUDA device: ");
    EXPECT_LVK_ERROR(Tensor::zeros({4}, DType::f32, Device::cuda()), "no usable CUDA device");
    EXPECT_LVK_ERROR(Tensor::zeros({4}).to(Device::cuda()), "no usable CUDA device");
  } else {
    EXPECT_EQ(parse_device("auto"), Device::cuda(0));
    EXPECT_FALSE(s.devices.empty());
  }
  synchronize();  // never throws without a device
}

TEST(Context, ParsesDeviceNames) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_LVK_ERROR(parse_device("gpu"), "'gpu' is not a device");
  EXPECT_LVK_ERROR(parse_device("cuda:x"), "'cuda:x' is not a device");
  EXPECT_EQ(Device::cuda(0).str(), "cuda:0");
}

class TensorBackends : public BackendTest {};

TEST_P(TensorBackends, CopiesBetweenDevicesExplicitly) {
  const std::vector<float> v = random_values(1001, 3);
  Tensor host = Tensor::from_vector(v, {7, 11, 13});
  Tensor there = host.to(device());
  EXPECT_EQ(there.device(), device());
  EXPECT_EQ(there.to(Device::cpu()).to_vector<float>(), v);
  Tensor empty = Tensor::empty({0, 3}, DType::f32, device());
  EXPECT_TRUE(empty.to(Device::cpu()).to_vector<float>().empty());
  Tensor ints = Tensor::zeros({5}, DType::i32, device());
  fill_(ints, 7.0f);
  EXPECT_EQ(ints.to_vector<int32_t>(), std::vector<int32_t>(5, 7));
}

LVK_INSTANTIATE_BACKENDS(TensorBackends);

}  // namespace
}  // namespace lvk::test
