#pragma once
// Reading option structs from JSON with errors that name the option: an unknown key, or a value of
// the wrong type, is an lvk::Error rather than a silent default.
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace lvk {

// Throws unless every key of `j` (an object) is one of `known`.
inline void check_known_keys(const char* what, const nlohmann::json& j, std::initializer_list<const char*> known) {
  LVK_CHECK(j.is_object(), what, ": options must be a JSON object, got ", j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    for (const char* k : known) found = found || it.key() == k;
    if (!found) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      fail(what, ": unknown option '", it.key(), "'; known options: ", list);
    }
  }
}

// Sets `field` from j[key] when present; throws naming the key on a type mismatch.
template <class T>
void read_option(const char* what, const nlohmann::json& j, const char* key, T& field) {
  if (!j.contains(key)) return;
  try {
    field = j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(what, ": option '", key, "' has the wrong type: ", j.at(key).dump());
  }
}

}  // namespace lvk
