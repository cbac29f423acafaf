#pragma once
// lvk::Error and the checks that raise it. Library code never exits; it throws an Error whose
// message names the op, the offending value and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>

namespace lvk {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws lvk::Error built from the streamed parts: fail("vq: K=", k, " must be >= 1").
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

}  // namespace lvk

#define LVK_CHECK(cond, ...)               \
  do {                                     \
    if (!(cond)) ::lvk::fail(__VA_ARGS__); \
  } while (0)
