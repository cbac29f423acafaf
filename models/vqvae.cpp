#include "models/vqvae.h"

#include <cmath>

#include "models/json_options.h"
#include "models/vq_pictures.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/layout.h"
#include "runtime/ops/nn.h"
#include "runtime/ops/vq_learn.h"
#include "runtime/tape.h"

namespace lvk {

namespace {
std::vector<ResidualBlock> residual_stack(int64_t channels, InitStream& init, Device device) {
  std::vector<ResidualBlock> blocks;
  for (int i = 0; i < 2; ++i) blocks.emplace_back(channels, std::max<int64_t>(1, channels / 2), init, device);
  return blocks;
}

Tensor constant_like(const Tensor& t, double value) {
  return Tensor::full(t.shape(), static_cast<float>(value), t.device());
}
}  // namespace

const OptionTable<VqVaeOptions>& VqVaeOptions::fields() {
  using O = VqVaeOptions;
  static const OptionTable<O> table = [] {
    OptionTable<O> t;
    append_rows(t, VqBottleneckOptions::fields(), &O::vq);
    t.push_back(option("channels", "hidden channels of encoder and decoder", &O::channels));
    t.push_back(option("decoder", "gaussian (MSE) or bernoulli (logits)", &O::decoder));
    return t;
  }();
  return table;
}

VqVaeOptions VqVaeOptions::from_json(const nlohmann::json& j, const char* what) {
  VqVaeOptions o;
  read_options(what, j, fields(), o);
  o.vq.resolve(what, j);
  LVK_CHECK(o.channels >= 1, what, ": channels=", o.channels, " must be >= 1");
  LVK_CHECK(o.decoder == "gaussian" || o.decoder == "bernoulli", what, ": decoder '", o.decoder,
            "' is not gaussian or bernoulli");
  return o;
}

nlohmann::json VqVaeOptions::to_json() const {
  return write_options(fields(), *this);
}

Tensor vq_recon_per_dim(const Tensor& out, const Tensor& x, bool gaussian) {
  return gaussian ? mse_loss(out, x, Reduction::mean) : bce_with_logits(out, x, Reduction::mean);
}

Tensor vq_decoder_image(const Tensor& out, bool gaussian) {
  return gaussian ? out : sigmoid(out);
}

void add_vq_terms(ModelOutput& out, const Tensor& recon_dim, bool gaussian, int64_t pixels, double kl_nats,
                  const Tensor& codebook, const Tensor& commitment) {
  NoGrad no_grad;
  const double d = static_cast<double>(pixels);
  // N(x; mu, 1/2): -log p = (x - mu)^2 + log(pi)/2 per pixel.
  Tensor recon = scale(recon_dim, static_cast<float>(d));
  if (gaussian) recon = add(recon, constant_like(recon, d * 0.5 * std::log(M_PI)));
  const Tensor elbo = scale(add(recon, constant_like(recon, kl_nats)), -1.0f);
  const Tensor bpd = scale(elbo, static_cast<float>(-1.0 / (d * std::log(2.0))));
  out.terms.emplace_back("recon", recon);
  if (gaussian) out.terms.emplace_back("mse", recon_dim);
  out.terms.emplace_back("codebook", codebook);
  out.terms.emplace_back("commitment", commitment);
  out.terms.emplace_back("elbo", elbo);
  out.terms.emplace_back("bpd", bpd);
}

VqVae::VqVae(const VqVaeOptions& o, const ImageShape& shape, InitStream& init, Device device)
    : options_(o),
      shape_(shape),
      device_(device),
      enc1_(shape.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      enc2_(o.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      enc_res_(residual_stack(o.channels, init, device)),
      enc_out_(o.channels, o.vq.code_dim, 1, init, device),
      vq_(o.vq, init, device, 8),
      dec_in_(o.vq.code_dim, o.channels, 3, init, device, ConvOptions{1, 1}),
      dec_res_(residual_stack(o.channels, init, device)),
      dec_up1_(o.channels, o.channels, 4, init, device, ConvOptions{2, 1}),
      dec_up2_(o.channels, shape.channels, 4, init, device, ConvOptions{2, 1}) {
  LVK_CHECK(shape.height % 4 == 0 && shape.width % 4 == 0 && shape.height >= 4 && shape.width >= 4,
            "vqvae: image sides must be positive multiples of 4 (two stride-2 convolutions), got ", shape.str());
}

void VqVae::check_input(const Tensor& x) const {
  LVK_CHECK(x.rank() == 4 && x.dim(1) == shape_.channels && x.dim(2) == shape_.height && x.dim(3) == shape_.width,
            "vqvae: expected images [B, ", shape_.channels, ", ", shape_.height, ", ", shape_.width, "], got ",
            x.str());
}

Tensor VqVae::encode(const Tensor& x) const {
  Tensor h = enc2_.forward(relu(enc1_.forward(x)));
  for (const ResidualBlock& b : enc_res_) h = b.forward(h);
  return enc_out_.forward(relu(h));
}

Tensor VqVae::decode(const Tensor& z_q) const {
  Tensor h = dec_in_.forward(z_q);
  for (const ResidualBlock& b : dec_res_) h = b.forward(h);
  h = relu(dec_up1_.forward(relu(h)));
  return dec_up2_.forward(h);
}

ModelOutput VqVae::forward(const Tensor& x, const StepInfo& info) {
  check_input(x);
  const Tensor z_e = encode(x);
  VqBottleneck::Output q = vq_.forward(z_e, info.training, info.comm);
  const Tensor out = decode(q.z_q);
  const bool gaussian = options_.decoder == "gaussian";
  const Tensor recon_dim = vq_recon_per_dim(out, x, gaussian);
  ModelOutput result;
  // With an EMA codebook the codebook loss has no gradient to give: it is reported, not minimised.
  result.loss = add(recon_dim, q.commitment_loss);
  if (options_.vq.codebook == "loss") result.loss = add(result.loss, q.codebook_loss);
  const double positions = static_cast<double>(z_e.dim(2) * z_e.dim(3));
  const double kl =
      positions * static_cast<double>(options_.vq.levels) * std::log(static_cast<double>(options_.vq.codes));
  add_vq_terms(result, recon_dim, gaussian, shape_.pixels(), kl, q.codebook_loss, q.commitment_loss);
  if (options_.vq.stats) {
    const CodeStatistics st = code_statistics(q.counts);
    result.stats = {{"perplexity", st.perplexity}, {"usage", st.usage}, {"restarts", vq_.restarts()}};
  }
  return result;
}

Tensor VqVae::reconstruct(const Tensor& x) {
  check_input(x);
  NoGrad no_grad;
  return vq_decoder_image(decode(vq_.forward(encode(x), false).z_q), options_.decoder == "gaussian");
}

Tensor VqVae::codes(const Tensor& x) {
  check_input(x);
  NoGrad no_grad;
  return vq_.forward(encode(x), false).indices.front();
}

Tensor VqVae::decode_codes(const Tensor& codes) const {
  const int64_t h = shape_.height / 4, w = shape_.width / 4;
  LVK_CHECK(codes.rank() == 3 && codes.dtype() == DType::i32 && codes.dim(1) == h && codes.dim(2) == w,
            "vqvae: decode_codes expects code maps i32 [B, ", h, ", ", w, "], got ", codes.str());
  NoGrad no_grad;
  Tensor book = vq_.codebooks().front();
  if (options_.vq.cosine) book = l2_normalize_rows(book);  // the lookup's z_q is the normalised code
  // One-hot rows times the codebook: an exact gather (each sum has one nonzero term).
  const Tensor rows = matmul(one_hot(codes.view({codes.numel()}), options_.vq.codes), book);
  const Tensor z_q = to_channels_first(rows.view({codes.dim(0), h, w, options_.vq.code_dim}));
  return vq_decoder_image(decode(z_q), options_.decoder == "gaussian");
}

Tensor VqVae::encode_codes(const Tensor& x) {
  const Tensor maps = codes(x);
  return maps.view({maps.dim(0), maps.numel() / maps.dim(0)});
}

std::vector<std::pair<std::string, io::Image>> VqVae::pictures(const Tensor& x) {
  const Tensor indices = codes(x);
  std::vector<int32_t> counts(static_cast<size_t>(options_.vq.codes), 0);
  for (int32_t k : indices.to_vector<int32_t>()) ++counts[static_cast<size_t>(k)];
  return {{"codes", code_map_image(indices)}, {"usage", code_usage_image(counts)}};
}

Tensor VqVae::sample(int64_t, uint64_t, uint64_t) {
  fail("vqvae has no prior over its codes to sample from; fit one to this run with `lvk train vqprior --set ",
       "vqvae=RUN --data <the same data>` and sample that run, or use `lvk reconstruct` to see what it learned");
}

void VqVae::after_step(const Tensor&, const StepInfo& info) {
  vq_.after_step(info);
}

void VqVae::initialize(const Tensor& x, const StepInfo& info) {
  check_input(x);
  NoGrad no_grad;
  vq_.initialize(encode(x), info.seed, info.comm);
}

ParameterList VqVae::buffers() const {
  ParameterList out;
  vq_.collect_buffers("vq.", out);
  return out;
}

void VqVae::collect_parameters(const std::string& prefix, ParameterList& out) const {
  enc1_.collect_parameters(prefix + "enc.conv1.", out);
  enc2_.collect_parameters(prefix + "enc.conv2.", out);
  for (size_t i = 0; i < enc_res_.size(); ++i)
    enc_res_[i].collect_parameters(prefix + "enc.res." + std::to_string(i) + ".", out);
  enc_out_.collect_parameters(prefix + "enc.out.", out);
  vq_.collect_parameters(prefix + "vq.", out);
  dec_in_.collect_parameters(prefix + "dec.in.", out);
  for (size_t i = 0; i < dec_res_.size(); ++i)
    dec_res_[i].collect_parameters(prefix + "dec.res." + std::to_string(i) + ".", out);
  dec_up1_.collect_parameters(prefix + "dec.up1.", out);
  dec_up2_.collect_parameters(prefix + "dec.up2.", out);
}

}  // namespace lvk
