#include "models/vqvae2.h"

#include <cmath>

#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/nn.h"
#include "runtime/tape.h"

namespace lvk {

namespace {
std::vector<ResidualBlock> blocks(int n, int64_t channels, InitStream& init, Device device) {
  std::vector<ResidualBlock> out;
  for (int i = 0; i < n; ++i) out.emplace_back(channels, std::max<int64_t>(1, channels / 2), init, device);
  return out;
}
Tensor run(const std::vector<ResidualBlock>& stack, Tensor h) {
  for (const ResidualBlock& b : stack) h = b.forward(h);
  return h;
}
// ConvTranspose 3x3/2 that inverts Conv 3x3/2 (padding 1) on a side of `bottom` pixels:
// ceil(bottom / 2) -> bottom.
ConvOptions up_to(int64_t bottom, bool bias = true) {
  ConvOptions o{2, 1};
  o.output_padding = bottom % 2 == 0 ? 1 : 0;
  o.bias = bias;
  return o;
}
ConvOptions no_bias(int64_t padding) {
  ConvOptions o{1, padding};
  o.bias = false;
  return o;
}
void collect(const std::vector<ResidualBlock>& stack, const std::string& prefix, ParameterList& out) {
  for (size_t i = 0; i < stack.size(); ++i) stack[i].collect_parameters(prefix + std::to_string(i) + ".", out);
}
}  // namespace

VqVae2::VqVae2(const VqVaeOptions& o, const ImageShape& shape, InitStream& init, Device device)
    : options_(o),
      shape_(shape),
      enc1_(shape.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      enc2_(o.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      enc_res_(blocks(2, o.channels, init, device)),
      top_down_(o.channels, o.channels, 3, init, device, ConvOptions{2, 1}),
      top_res_(blocks(1, o.channels, init, device)),
      top_out_(o.channels, o.vq.code_dim, 1, init, device),
      vq_top_(o.vq, init, device, 4),
      top_dec_in_(o.vq.code_dim, o.channels, 3, init, device, ConvOptions{1, 1}),
      top_dec_res_(blocks(1, o.channels, init, device)),
      top_dec_up_(o.channels, o.channels, 3, init, device, up_to(shape.height / 4)),
      bottom_from_enc_(o.channels, o.vq.code_dim, 1, init, device),
      bottom_from_top_(o.channels, o.vq.code_dim, 1, init, device, no_bias(0)),
      vq_bottom_(o.vq, init, device, 8),
      top_upsample_(o.vq.code_dim, o.vq.code_dim, 3, init, device, up_to(shape.height / 4)),
      dec_from_bottom_(o.vq.code_dim, o.channels, 3, init, device, ConvOptions{1, 1}),
      dec_from_top_(o.vq.code_dim, o.channels, 3, init, device, no_bias(1)),
      dec_res_(blocks(2, o.channels, init, device)),
      dec_up1_(o.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      dec_up2_(o.channels, shape.channels, 4, init, device, ConvOptions{2, 1}) {
  LVK_CHECK(shape.height % 4 == 0 && shape.width % 4 == 0 && shape.height >= 4 && shape.width >= 4 &&
                (shape.height / 4) % 2 == (shape.width / 4) % 2,
            "vqvae2: image sides must be positive multiples of 4 whose quarters have the same parity, got ",
            shape.str());
}

void VqVae2::check_input(const Tensor& x) const {
  LVK_CHECK(x.rank() == 4 && x.dim(1) == shape_.channels && x.dim(2) == shape_.height && x.dim(3) == shape_.width,
            "vqvae2: expected images [B, ", shape_.channels, ", ", shape_.height, ", ", shape_.width, "], got ",
            x.str());
}

Tensor VqVae2::bottom_latents(const Tensor& h_b, const Tensor& q_top) const {
  const Tensor d_t = top_dec_up_.forward(relu(run(top_dec_res_, top_dec_in_.forward(q_top))));
  return add(bottom_from_enc_.forward(h_b), bottom_from_top_.forward(d_t));
}

VqVae2::Latents VqVae2::encode(const Tensor& x, bool training, dist::Communicator* comm) {
  Latents l;
  const Tensor h_b = relu(run(enc_res_, enc2_.forward(relu(enc1_.forward(x)))));
  l.z_top = top_out_.forward(relu(run(top_res_, top_down_.forward(h_b))));
  l.top = vq_top_.forward(l.z_top, training, comm);
  l.z_bottom = bottom_latents(h_b, l.top.z_q);
  l.bottom = vq_bottom_.forward(l.z_bottom, training, comm);
  return l;
}

Tensor VqVae2::decode(const Tensor& q_top, const Tensor& q_bottom) const {
  Tensor h = add(dec_from_bottom_.forward(q_bottom), dec_from_top_.forward(top_upsample_.forward(q_top)));
  h = relu(run(dec_res_, h));
  return dec_up2_.forward(relu(dec_up1_.forward(h)));
}

ModelOutput VqVae2::forward(const Tensor& x, const StepInfo& info) {
  check_input(x);
  const Latents l = encode(x, info.training, info.comm);
  const Tensor out = decode(l.top.z_q, l.bottom.z_q);
  const bool gaussian = options_.decoder == "gaussian";
  const Tensor recon_dim = vq_recon_per_dim(out, x, gaussian);
  const Tensor commitment = add(l.top.commitment_loss, l.bottom.commitment_loss);
  const Tensor codebook = add(l.top.codebook_loss, l.bottom.codebook_loss);
  ModelOutput result;
  result.loss = add(recon_dim, commitment);
  if (options_.vq.codebook == "loss") result.loss = add(result.loss, codebook);
  const double positions = static_cast<double>(l.z_top.dim(2) * l.z_top.dim(3) + l.z_bottom.dim(2) * l.z_bottom.dim(3));
  const double kl =
      positions * static_cast<double>(options_.vq.levels) * std::log(static_cast<double>(options_.vq.codes));
  add_vq_terms(result, recon_dim, gaussian, shape_.pixels(), kl, codebook, commitment);
  if (options_.vq.stats) {
    const CodeStatistics bottom = code_statistics(l.bottom.counts), top = code_statistics(l.top.counts);
    result.stats = {{"perplexity", bottom.perplexity},
                    {"usage", bottom.usage},
                    {"perplexity_top", top.perplexity},
                    {"usage_top", top.usage},
                    {"restarts", add(vq_top_.restarts(), vq_bottom_.restarts())}};
  }
  return result;
}

Tensor VqVae2::reconstruct(const Tensor& x) {
  check_input(x);
  NoGrad no_grad;
  const Latents l = encode(x, false);
  return vq_decoder_image(decode(l.top.z_q, l.bottom.z_q), options_.decoder == "gaussian");
}

Tensor VqVae2::sample(int64_t, uint64_t, uint64_t) {
  fail("vqvae2 has no prior over its codes to sample from (priors over the top and bottom code maps are not part ",
       "of lvk yet); use `lvk reconstruct` to see what it learned");
}

void VqVae2::after_step(const Tensor&, const StepInfo& info) {
  vq_top_.after_step(info);
  vq_bottom_.after_step(info);
}

void VqVae2::initialize(const Tensor& x, const StepInfo& info) {
  check_input(x);
  NoGrad no_grad;
  // Top first: the bottom latents depend on the quantised top.
  const Tensor h_b = relu(run(enc_res_, enc2_.forward(relu(enc1_.forward(x)))));
  const Tensor z_top = top_out_.forward(relu(run(top_res_, top_down_.forward(h_b))));
  vq_top_.initialize(z_top, info.seed, info.comm);
  vq_bottom_.initialize(bottom_latents(h_b, vq_top_.forward(z_top, false).z_q), info.seed, info.comm);
}

ParameterList VqVae2::buffers() const {
  ParameterList out;
  vq_top_.collect_buffers("vq_top.", out);
  vq_bottom_.collect_buffers("vq_bottom.", out);
  return out;
}

void VqVae2::collect_parameters(const std::string& p, ParameterList& out) const {
  enc1_.collect_parameters(p + "enc.conv1.", out);
  enc2_.collect_parameters(p + "enc.conv2.", out);
  collect(enc_res_, p + "enc.res.", out);
  top_down_.collect_parameters(p + "top.down.", out);
  collect(top_res_, p + "top.res.", out);
  top_out_.collect_parameters(p + "top.out.", out);
  vq_top_.collect_parameters(p + "vq_top.", out);
  top_dec_in_.collect_parameters(p + "top_dec.in.", out);
  collect(top_dec_res_, p + "top_dec.res.", out);
  top_dec_up_.collect_parameters(p + "top_dec.up.", out);
  bottom_from_enc_.collect_parameters(p + "bottom.from_enc.", out);
  bottom_from_top_.collect_parameters(p + "bottom.from_top.", out);
  vq_bottom_.collect_parameters(p + "vq_bottom.", out);
  top_upsample_.collect_parameters(p + "dec.top_up.", out);
  dec_from_bottom_.collect_parameters(p + "dec.from_bottom.", out);
  dec_from_top_.collect_parameters(p + "dec.from_top.", out);
  collect(dec_res_, p + "dec.res.", out);
  dec_up1_.collect_parameters(p + "dec.up1.", out);
  dec_up2_.collect_parameters(p + "dec.up2.", out);
}

}  // namespace lvk
