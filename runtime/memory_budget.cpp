#include "runtime/memory_budget.h"

#include <unistd.h>

#include <cstdio>

#include "base/error.h"

namespace lvk {

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

bool fits_in_memory(double bytes) {
  const uint64_t have = physical_memory_bytes();
  return have == 0 || bytes <= static_cast<double>(have);
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  int u = 0;
  while (bytes >= 1000 && u < 8) bytes /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void check_fits_in_memory(const std::string& what, int64_t count, int64_t per_item, const char* unit,
                          int64_t item_bytes) {
  // In double: the product of user-given sizes may overflow 64 bits, and the answer is only compared.
  const double bytes = static_cast<double>(count) * static_cast<double>(per_item) * static_cast<double>(item_bytes);
  if (fits_in_memory(bytes)) return;
  fail(what, " ", count, " × ", per_item, " ", unit, "s = ", human_bytes(bytes), ", this machine has ",
       human_bytes(static_cast<double>(physical_memory_bytes())));
}

}  // namespace lvk
