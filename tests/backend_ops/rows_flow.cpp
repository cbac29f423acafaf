// Rows of the flow layers: affine coupling (fused and the unfused baseline), actnorm, the MADE
// sampling direction.
#include "kernels/coupling_unfused.h"
#include "runtime/op.h"
#include "runtime/ops/actnorm.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/coupling.h"
#include "runtime/ops/made.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kFeatures = 5;
constexpr float kScale = 1.5f;
// More rows than one block of the narrowest group (256 rows of one lane each).
constexpr int64_t kCouplingRows = 300;

// x, mask, s_raw, t for [rows, D].
Tensors coupling_inputs(int64_t rows, int64_t d) {
  return {rand({rows, d}, 51, -2.0f, 2.0f), coupling_mask(MaskKind::alternating, {d}, false), rand({rows, d}, 52),
          rand({rows, d}, 53)};
}
Tensors coupling_rows(int64_t d) {
  return coupling_inputs(kCouplingRows, d);
}

// A scalar that depends on both outputs, weighted so no gradient term cancels.
Tensor both(const Tensor& out, const Tensor& logdet) {
  return add(sum(mul(out, out)), sum(logdet));
}

OpRow coupling_row(bool inverse) {
  OpRow r;
  r.name = inverse ? "coupling_inverse" : "coupling_forward";  // size: D of [300, D]
  r.kernels = {inverse ? "coupling_inverse" : "coupling_forward",
               inverse ? "coupling_inverse_backward" : "coupling_forward_backward"};
  r.tile = 32;                      // the widest lane group per row
  r.empty_ok = false;               // a mask needs a feature
  r.extra_sizes = {2, 7, 64, 257};  // the 2-, 8- and 32-lane groups, several passes per lane
  r.inputs = coupling_rows;
  r.grad_check_inputs = [](int64_t d) { return coupling_inputs(3, d); };
  r.forward = [inverse](const Tensors& in) {
    const CouplingResult c = (inverse ? coupling_inverse : coupling_forward)(in[0], in[1], in[2], in[3], kScale);
    return Tensors{c.out, c.logdet, both(c.out, c.logdet)};
  };
  r.outputs = {close("out", 1e-5, 1e-5), close("logdet", 1e-5, 1e-5), close("loss", 1e-4, 1e-5)};
  r.backward = true;
  r.grad_output = 2;
  r.grad_inputs = {true, false, true, true};
  r.grad_check.rtol = 5e-3;
  return r;
}

}  // namespace

std::vector<OpRow> flow_rows() {
  std::vector<OpRow> rows;
  rows.push_back(coupling_row(false));
  rows.push_back(coupling_row(true));
  {
    OpRow r;
    r.name = "coupling_unfused";  // the benchmark baseline: one pass per operation; size: D of [300, D]
    r.kernels = {"coupling_forward_unfused"};
    r.tile = 32;
    r.empty_ok = false;
    r.inputs = coupling_rows;
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      const int64_t n = in[0].dim(0), f = in[0].dim(1);
      Tensor y = Tensor::empty({n, f}, DType::f32, d), logdet = Tensor::empty({n}, DType::f32, d);
      Tensor scratch = Tensor::empty({3, n, f}, DType::f32, d);
      LVK_DISPATCH(d, coupling_forward_unfused, y.data<float>(), logdet.data<float>(), in[0].data<float>(),
                   in[1].data<float>(), in[2].data<float>(), in[3].data<float>(), kScale, n, f, scratch.data<float>());
      return Tensors{y, logdet};
    };
    r.outputs = {close("y", 1e-5, 1e-5), close("logdet", 1e-5, 1e-5)};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "actnorm";  // size: rows of [N, 5]; forward then inverse
    r.kernels = {"actnorm_apply", "actnorm_backward"};
    r.tile = 256;
    r.inputs = [](int64_t n) {
      return Tensors{rand({n, kFeatures}, 54, -2.0f, 2.0f), rand({kFeatures}, 55), rand({kFeatures}, 56)};
    };
    r.forward = [](const Tensors& in) {
      const Tensor y = actnorm_forward(in[0], in[1], in[2]);
      const Tensor x = actnorm_inverse(mul(y, y), in[1], in[2]);
      return Tensors{y, x};
    };
    r.outputs = {close("y", 1e-6, 1e-6), close("inverse", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_output = 1;  // through both directions
    r.grad_inputs = {true, true, true};
    r.grad_tolerance = close("grad", 1e-4, 1e-4);
    r.grad_check.rtol = 5e-3;
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "made_inverse";  // size: rows of u [N, 4]; one MADE layer, 8 hidden units
    r.kernels = {"made_inverse"};
    r.tile = 32;
    r.inputs = [](int64_t n) {
      const int64_t d = 4, h = 8;
      return Tensors{rand({n, d}, 61),
                     Tensor::from_vector(std::vector<int32_t>{2, 0, 3, 1}, {d}),
                     rand({h, d}, 62, -0.5f, 0.5f),
                     rand({h}, 63, -0.1f, 0.1f),
                     rand({h, h}, 64, -0.5f, 0.5f),
                     rand({h}, 65, -0.1f, 0.1f),
                     rand({d, h}, 66, -0.5f, 0.5f),
                     rand({d}, 67, -0.1f, 0.1f),
                     rand({d, h}, 68, -0.5f, 0.5f),
                     rand({d}, 69, -0.1f, 0.1f)};
    };
    r.forward = [](const Tensors& in) {
      MadeTensors m;
      m.order = in[1], m.w_in = in[2], m.b_in = in[3];
      m.w_hidden = {in[4]}, m.b_hidden = {in[5]};
      m.w_shift = in[6], m.b_shift = in[7], m.w_log_scale = in[8], m.b_log_scale = in[9];
      const MadeInverseResult x = made_inverse(in[0], m, 2.0f);
      return Tensors{x.x, x.logdet};
    };
    r.outputs = {close("x", 1e-5, 1e-5), close("logdet", 1e-5, 1e-5)};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
