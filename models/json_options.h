#pragma once
// Reading option structs from JSON with errors that name the option: an unknown key, a value of
// the wrong type, a fraction where an integer belongs, a number that does not fit the field, or a
// non-finite float, is an lvk::Error rather than a silently truncated, wrapped or default value.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "base/error.h"

namespace lvk {

namespace detail {

// Integers arrive as JSON integers or as floats with no fractional part (1e3); the range check is
// done in long double, which holds every 64-bit integer exactly.
template <class T>
T json_integer(const char* what, const char* key, const nlohmann::json& v) {
  using limits = std::numeric_limits<T>;
  LVK_CHECK(v.is_number(), what, ": option '", key, "' has the wrong type: ", v.dump(), " (expected an integer)");
  long double x = 0;
  if (v.is_number_unsigned())
    x = static_cast<long double>(v.get<uint64_t>());
  else if (v.is_number_integer())
    x = static_cast<long double>(v.get<int64_t>());
  else {
    const double d = v.get<double>();
    LVK_CHECK(std::isfinite(d) && d == std::floor(d), what, ": ", key, "=", v.dump(), " is not an integer");
    x = d;
  }
  LVK_CHECK(x >= static_cast<long double>(limits::min()) && x <= static_cast<long double>(limits::max()), what, ": ",
            key, "=", v.dump(), " is out of range (", +limits::min(), " to ", +limits::max(), ")");
  if (v.is_number_unsigned()) return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<T>(v.get<int64_t>());
  return static_cast<T>(x);
}

template <class T>
T json_float(const char* what, const char* key, const nlohmann::json& v) {
  LVK_CHECK(v.is_number(), what, ": option '", key, "' has the wrong type: ", v.dump(), " (expected a number)");
  const double d = v.get<double>();
  LVK_CHECK(std::isfinite(d), what, ": ", key, "=", v.dump(), " is not a finite number");
  LVK_CHECK(std::fabs(d) <= static_cast<double>(std::numeric_limits<T>::max()), what, ": ", key, "=", v.dump(),
            " is out of range for a ", sizeof(T) == 4 ? "32" : "64", "-bit float");
  return static_cast<T>(d);
}

}  // namespace detail

// Sets `field` from j[key] when present; throws naming the key and the value on a type mismatch,
// a non-integral or out-of-range integer, or a non-finite or out-of-range float.
template <class T>
void read_option(const char* what, const nlohmann::json& j, const char* key, T& field) {
  if (!j.contains(key)) return;
  const nlohmann::json& v = j.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    field = detail::json_integer<T>(what, key, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    field = detail::json_float<T>(what, key, v);
  } else {
    try {
      field = v.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(what, ": option '", key, "' has the wrong type: ", v.dump());
    }
  }
}

}  // namespace lvk
