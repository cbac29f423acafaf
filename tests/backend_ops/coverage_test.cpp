// Coverage that cannot be forgotten: every kernel entry point declared in kernels/*.h (a function
// of a `namespace cpu` / `namespace cuda` block or of a LVK_*_DECLS macro) and every target of
// LVK_DISPATCH or of a direct kernels::cpu:: / kernels::cuda:: call in the layers above must be
// named by a row of the op table. The declarations are parsed from the sources, so a new kernel
// fails this test until it has a row.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {
namespace {

namespace fs = std::filesystem;

// Declared with twins but not ops, so no row can compare them.
const std::set<std::string> kNotOps = {
    "fma_spin",            // the benchmarks' machine-peak probe (kernels/peak.h): returns FLOPs, no result
    "probe_kernel_image",  // asks the CUDA driver whether this build has code for the device
    "cpu_isa",             // which SIMD path the CPU twins take (kernels/cpu/cpu_isa.h)
    "conv_plan",           // the cuDNN plan cached per convolution geometry
    "conv_impl",           // which CPU convolution implementation runs (kernels/cpu/nn_conv_impls.h)
    "vq_workspace_bytes",  // workspace sizes of the CUDA VQ twins
    "vq_fast_workspace_bytes",
    "vq_grad_workspace_bytes",
};

std::string read(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string strip_comments(const std::string& src) {
  static const std::regex block(R"(/\*[\s\S]*?\*/)"), line(R"(//[^\n]*)");
  return std::regex_replace(std::regex_replace(src, block, " "), line, " ");
}

// The text between the brace opening at `open` and its match.
std::string braced(const std::string& s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return s.substr(open + 1, i - open - 1);
  }
  return s.substr(open);
}

// The source without its #define lines (continuations included).
std::string without_defines(const std::string& src) {
  std::istringstream in(src);
  std::string line, out;
  bool in_define = false;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t");
    if (!in_define && first != std::string::npos && line.compare(first, 7, "#define") == 0) in_define = true;
    const bool continues = !line.empty() && line.back() == '\\';
    if (!in_define) out += line + "\n";
    if (!continues) in_define = false;
  }
  return out;
}

void add_function_names(const std::string& text, std::set<std::string>& names) {
  static const std::regex decl(R"(\b(?:void|index_t|int|int32_t|int64_t|float|bool|size_t|cudaError_t)\s+(\w+)\s*\()");
  for (std::sregex_iterator it(text.begin(), text.end(), decl), end; it != end; ++it) names.insert((*it)[1]);
}

// Kernel entry points declared in one header's source text.
std::set<std::string> declared_kernels(const std::string& header) {
  const std::string s = strip_comments(header);
  std::set<std::string> names;
  static const std::regex twins_block(R"(namespace\s+(?:lvk::kernels::)?(?:cpu|cuda)\s*\{)");
  for (std::sregex_iterator it(s.begin(), s.end(), twins_block), end; it != end; ++it)
    add_function_names(braced(s, static_cast<size_t>(it->position() + it->length() - 1)), names);
  static const std::regex decls_macro(R"(#define\s+LVK_\w*DECLS\(\.\.\.\)((?:[^\n]*\\\n)*[^\n]*))");
  for (std::sregex_iterator it(s.begin(), s.end(), decls_macro), end; it != end; ++it)
    add_function_names((*it)[1], names);
  return names;
}

// Kernels a source file calls through the dispatch macro or a direct twin call.
std::set<std::string> dispatched_kernels(const std::string& source) {
  const std::string s = without_defines(strip_comments(source));  // not the macro's own definition
  std::set<std::string> names;
  static const std::regex dispatch(R"(LVK_DISPATCH\s*\([^,]+,\s*(\w+))"),
      direct(R"(kernels::(?:cpu|cuda)::(\w+)\s*\()");
  for (const std::regex* re : {&dispatch, &direct})
    for (std::sregex_iterator it(s.begin(), s.end(), *re), end; it != end; ++it) names.insert((*it)[1]);
  return names;
}

const fs::path kRoot = LVK_SOURCE_DIR;

std::set<std::string> kernels_in_rows() {
  std::set<std::string> names;
  for (const OpRow& row : op_table()) names.insert(row.kernels.begin(), row.kernels.end());
  return names;
}

TEST(BackendOpsCoverage, TheParserFindsEveryFormOfDeclaration) {
  const std::string header = R"(
#define LVK_X_DECLS(...)                                  \
  /* void not_this(int); */                               \
  void first(float* out, index_t n __VA_ARGS__);          \
  void second(float* out,                                 \
              index_t n __VA_ARGS__);
namespace cpu {
index_t third(float* out);  // void nor_this(int);
}
namespace lvk::kernels::cuda {
cudaError_t fourth();
}
inline index_t helper_size(index_t n) { return n; }
)";
  EXPECT_EQ(declared_kernels(header), (std::set<std::string>{"first", "second", "third", "fourth"}));
  EXPECT_EQ(dispatched_kernels("#define LVK_DISPATCH(device, fn, ...) \\\n  LVK_DISPATCH(d, not_this)\n"
                               "LVK_DISPATCH(x.device(), alpha, a, b); kernels::cpu::beta(1); // LVK_DISPATCH(d, no)"),
            (std::set<std::string>{"alpha", "beta"}));
}

TEST(BackendOpsCoverage, EveryKernelHasARow) {
  ASSERT_TRUE(fs::is_directory(kRoot / "kernels")) << "no sources at " << kRoot;
  std::map<std::string, std::string> found;  // kernel -> where
  for (const auto& entry : fs::directory_iterator(kRoot / "kernels"))
    if (entry.path().extension() == ".h")
      for (const std::string& k : declared_kernels(read(entry.path())))
        found.emplace(k, entry.path().filename().string());
  ASSERT_GT(found.size(), 50u) << "the parser found too few kernels: the header layout changed";
  for (const char* layer : {"runtime", "models", "tools", "python"}) {
    if (!fs::is_directory(kRoot / layer)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / layer)) {
      const std::string ext = entry.path().extension().string();
      if (ext == ".cpp" || ext == ".h" || ext == ".cu")
        for (const std::string& k : dispatched_kernels(read(entry.path())))
          found.emplace(k, fs::relative(entry.path(), kRoot).string());
    }
  }
  const std::set<std::string> covered = kernels_in_rows();
  for (const auto& [kernel, where] : found) {
    if (kNotOps.count(kernel)) continue;
    EXPECT_TRUE(covered.count(kernel)) << "kernel " << kernel << " (" << where
                                       << ") has no row in the op table (tests/backend_ops/rows_*.cpp)";
  }
  for (const std::string& k : covered)
    EXPECT_TRUE(found.count(k)) << "a row names kernel " << k << ", which kernels/*.h does not declare";
}

}  // namespace
}  // namespace lvk::backend_ops
