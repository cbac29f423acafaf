// The option tables (models/option_table.h) drive JSON in and out, the unknown-key check and the
// tables of models/README.md; these tests hold the four to one source.
#include <fstream>
#include <sstream>
#include <string>

#include "models/code_prior.h"
#include "models/dvae.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "models/vae.h"
#include "models/vqvae.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

// The text of models/README.md between "<!-- options KIND -->" and the next "<!-- end options -->".
std::string readme_table(const std::string& kind) {
  std::ifstream in(std::string(LVK_SOURCE_DIR) + "/models/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str(), open = "<!-- options " + kind + " -->\n";
  const size_t a = s.find(open);
  if (a == std::string::npos) return "(no \"" + open.substr(0, open.size() - 1) + "\" marker)";
  const size_t b = s.find("<!-- end options -->", a);
  return s.substr(a + open.size(), b == std::string::npos ? std::string::npos : b - a - open.size());
}

TEST(OptionTables, ReadmeShowsEveryModelsTable) {
  for (const std::string kind : {"vae", "dvae", "vqvae", "vqprior"})
    EXPECT_EQ(readme_table(kind), model_options_markdown(kind))
        << "models/README.md's table of " << kind << " options differs from the option table; paste:\n"
        << model_options_markdown(kind);
  const std::string train = options_markdown(TrainConfig::fields(), TrainConfig{});
  EXPECT_EQ(readme_table("train"), train)
      << "models/README.md's table of train options differs from the option table; paste:\n"
      << train;
}

template <class O>
void expect_unknown_key_lists_the_table(const std::string& kind) {
  std::string what;
  try {
    InitStream init(0);
    make_model(kind, {{"no_such_option", 1}}, ImageShape{1, 8, 8}, init, Device::cpu());
    ADD_FAILURE() << kind << " accepted an unknown option";
  } catch (const Error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("unknown option 'no_such_option'"), std::string::npos) << what;
  for (const OptionField<O>& f : O::fields()) EXPECT_NE(what.find(f.key), std::string::npos) << kind << ": " << f.key;
}

TEST(OptionTables, UnknownKeysAreRejectedNamingEveryKnownKey) {
  expect_unknown_key_lists_the_table<VaeOptions>("vae");
  expect_unknown_key_lists_the_table<DvaeOptions>("dvae");
  expect_unknown_key_lists_the_table<VqVaeOptions>("vqvae");
}

TEST(OptionTables, JsonRoundTripsEveryKey) {
  DvaeOptions d;
  d.codes = 7, d.hard = true, d.temperature = "exponential", d.tau_min = 0.25, d.kl_weight = 0.5f;
  const nlohmann::json dj = d.to_json();
  EXPECT_EQ(dj.size(), DvaeOptions::fields().size());
  EXPECT_EQ(DvaeOptions::from_json(dj).to_json(), dj);
  EXPECT_EQ(dj.at("temperature"), "exponential");

  VqVaeOptions v;
  v.vq.codes = 9, v.vq.precision = VqPrecision::fast, v.vq.levels = 2, v.channels = 5;
  const nlohmann::json vj = v.to_json();
  EXPECT_EQ(vj.size(), VqVaeOptions::fields().size());
  EXPECT_EQ(vj.at("precision"), "fast");
  EXPECT_EQ(vj.at("residual_levels"), 2);
  EXPECT_EQ(VqVaeOptions::from_json(vj).to_json(), vj);

  VaeOptions a;
  a.prior = "maf", a.latent = 3;
  EXPECT_EQ(VaeOptions::from_json(a.to_json()).to_json(), a.to_json());

  TrainConfig t;
  t.data = io::parse_dataset_spec("shapes:300", "x"), t.lr = 0.5f, t.cuda_graph = false, t.model_options = {{"a", 1}};
  const nlohmann::json tj = t.to_json();
  EXPECT_EQ(tj.size(), TrainConfig::fields().size());
  EXPECT_EQ(tj.at("data").at("count"), 300);
  EXPECT_EQ(TrainConfig::from_json(tj).to_json(), tj);
  LVK_EXPECT_ERROR(TrainConfig::from_json({{"data", {{"sourc", "shapes"}}}}), "train config data",
                   "unknown option 'sourc'");

  VqPriorOptions p;
  p.vqvae = "runs/x", p.kernel = 7, p.vqvae_model = {{"image", {1, 8, 8}}};
  const nlohmann::json pj = p.to_json();
  EXPECT_EQ(pj.at("vqvae_model"), p.vqvae_model);
  EXPECT_EQ(VqPriorOptions::from_json(pj).to_json(), pj);
}

TEST(OptionTables, HelpListsEveryKeyWithItsDefault) {
  const std::string help = model_options_help("flowvae");
  for (const OptionField<VaeOptions>& f : VaeOptions::fields()) EXPECT_NE(help.find(f.key), std::string::npos) << f.key;
  EXPECT_NE(help.find("prior = realnvp"), std::string::npos) << help;
  EXPECT_NE(model_options_help("vqvae").find("beta = 0.25"), std::string::npos);
  LVK_EXPECT_ERROR(model_options_help("gan"), "unknown model 'gan'");
}

}  // namespace
}  // namespace lvk::test
