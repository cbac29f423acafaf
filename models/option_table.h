#pragma once
// One table per options struct: each row names a key, says what it means and reads / writes its
// field. The table drives JSON in and out, the unknown-key check, `lvk train KIND --help` and the
// option tables of models/README.md (tests/test_option_tables.cpp keeps those equal).
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/json_options.h"

namespace lvk {

template <class O>
struct OptionField {
  std::string key;
  std::string help;
  std::function<void(const char* what, const nlohmann::json& j, O& o)> read;  // from j[key] when present
  std::function<nlohmann::json(const O& o)> write;
};

template <class O>
using OptionTable = std::vector<OptionField<O>>;

// The row of `member`, a field of O.
template <class O, class T>
OptionField<O> option(const char* key, const char* help, T O::*member) {
  return {key, help,
          [key, member](const char* what, const nlohmann::json& j, O& o) { read_option(what, j, key, o.*member); },
          [member](const O& o) { return nlohmann::json(o.*member); }};
}

// The rows of the table of `part`, a member of O that is an options struct of its own.
template <class O, class P>
void append_rows(OptionTable<O>& table, const OptionTable<P>& rows, P O::*part) {
  for (const OptionField<P>& f : rows)
    table.push_back({f.key, f.help,
                     [read = f.read, part](const char* what, const nlohmann::json& j, O& o) { read(what, j, o.*part); },
                     [write = f.write, part](const O& o) { return write(o.*part); }});
}

// Throws naming the first key of `j` (an object) that is not in the table, then reads every
// present key into `o`.
template <class O>
void read_options(const char* what, const nlohmann::json& j, const OptionTable<O>& table, O& o) {
  LVK_CHECK(j.is_object(), what, ": options must be a JSON object, got ", j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    for (const OptionField<O>& f : table) found = found || f.key == it.key();
    if (!found) {
      std::string list;
      for (const OptionField<O>& f : table) list += (list.empty() ? "" : ", ") + f.key;
      fail(what, ": unknown option '", it.key(), "'; known options: ", list);
    }
  }
  for (const OptionField<O>& f : table) f.read(what, j, o);
}

template <class O>
nlohmann::json write_options(const OptionTable<O>& table, const O& o) {
  nlohmann::json j = nlohmann::json::object();
  for (const OptionField<O>& f : table) j[f.key] = f.write(o);
  return j;
}

// A value as a person writes it: floats in %g (0.25, not 0.25000000372529), strings unquoted.
inline std::string option_value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>().empty() ? "\"\"" : v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

// "  key (default: value)  help" per row, for --help.
template <class O>
std::string options_help(const OptionTable<O>& table, const O& defaults) {
  std::string out;
  for (const OptionField<O>& f : table) {
    const std::string head = "  " + f.key + " = " + option_value_text(f.write(defaults));
    out += head + std::string(head.size() < 30 ? 30 - head.size() : 1, ' ') + f.help + "\n";
  }
  return out;
}

// A markdown table: | option | default | meaning |.
template <class O>
std::string options_markdown(const OptionTable<O>& table, const O& defaults) {
  std::string out = "| option | default | meaning |\n|---|---|---|\n";
  for (const OptionField<O>& f : table)
    out += "| `" + f.key + "` | " + option_value_text(f.write(defaults)) + " | " + f.help + " |\n";
  return out;
}

}  // namespace lvk
