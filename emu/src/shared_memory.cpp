#include "shared_memory.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "memory.h"

namespace lvk_emu {

namespace {

struct Symbol {
  uintptr_t address;
  size_t size;
  std::string name;
};

struct Variable {
  size_t size;
  int64_t first_byte;  // index of its first byte among all shared bytes
};

constexpr const char* kMarkerName = "lvk_emu_shared_marker_";

// The data objects of one ELF file loaded at `base`.
void read_symbols(const char* path, uintptr_t base, std::vector<Symbol>& out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    close(fd);
    return;
  }
  const size_t bytes = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return;
  const auto* file = static_cast<const unsigned char*>(map);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(file);
  const bool elf64 = std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64;
  if (elf64 && eh->e_shoff + size_t{eh->e_shnum} * sizeof(Elf64_Shdr) <= bytes) {
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(file + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; ++i) {
      const Elf64_Shdr& s = sections[i];
      if (s.sh_type != SHT_SYMTAB || s.sh_link >= eh->e_shnum) continue;
      const Elf64_Shdr& strings = sections[s.sh_link];
      if (s.sh_offset + s.sh_size > bytes || strings.sh_offset + strings.sh_size > bytes) continue;
      const auto* syms = reinterpret_cast<const Elf64_Sym*>(file + s.sh_offset);
      const char* names = reinterpret_cast<const char*>(file + strings.sh_offset);
      for (size_t j = 0; j < s.sh_size / sizeof(Elf64_Sym); ++j) {
        const Elf64_Sym& sym = syms[j];
        if (ELF64_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_size == 0 || sym.st_shndx == SHN_UNDEF) continue;
        if (sym.st_name >= strings.sh_size || std::strncmp(names + sym.st_name, "_ZZ", 3) != 0) continue;
        out.push_back(Symbol{base + sym.st_value, sym.st_size, names + sym.st_name});
      }
    }
  }
  munmap(map, bytes);
}

// Function-local statics of every loaded object, sorted by address; read once.
const std::vector<Symbol>& local_statics() {
  static const std::vector<Symbol> symbols = [] {
    std::vector<Symbol> all;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
          const char* path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "/proc/self/exe";
          read_symbols(path, info->dlpi_addr, *static_cast<std::vector<Symbol>*>(data));
          return 0;
        },
        &all);
    std::sort(all.begin(), all.end(), [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
    return all;
  }();
  return symbols;
}

std::map<uintptr_t, Variable> g_variables;  // by address
std::map<const void*, std::set<uintptr_t>> g_kernel_variables;
int64_t g_total_bytes = 0;

// "_ZZ<function>E" for a marker's "_ZZ<function>E<length>lvk_emu_shared_marker_<n>".
std::string function_prefix(const std::string& marker) {
  size_t at = marker.find(kMarkerName);
  if (at == std::string::npos) return "";
  while (at > 0 && std::isdigit(static_cast<unsigned char>(marker[at - 1]))) --at;
  return marker.substr(0, at);
}

}  // namespace

void register_shared_variables(const void* marker, const void* kernel) {
  const std::vector<Symbol>& symbols = local_statics();
  const auto address = reinterpret_cast<uintptr_t>(marker);
  auto it = std::upper_bound(symbols.begin(), symbols.end(), address,
                             [](uintptr_t a, const Symbol& s) { return a < s.address; });
  if (it == symbols.begin()) return;  // no symbol table (a stripped program): nothing is poisoned
  --it;
  if (address >= it->address + it->size) return;
  const std::string prefix = function_prefix(it->name);
  if (prefix.empty()) return;
  for (const Symbol& s : symbols) {
    if (s.name.compare(0, prefix.size(), prefix) != 0 || s.name.size() <= prefix.size() ||
        !std::isdigit(static_cast<unsigned char>(s.name[prefix.size()])) ||
        s.name.find(kMarkerName) != std::string::npos)
      continue;
    if (g_variables.emplace(s.address, Variable{s.size, g_total_bytes}).second) {
      g_total_bytes += static_cast<int64_t>(s.size);
      std::memset(reinterpret_cast<void*>(s.address), 0xff, s.size);
    }
    if (kernel) g_kernel_variables[kernel].insert(s.address);
  }
}

void poison_shared_variables(const void* kernel) {
  auto it = g_kernel_variables.find(kernel);
  if (it == g_kernel_variables.end()) return;
  for (uintptr_t a : it->second) std::memset(reinterpret_cast<void*>(a), 0xff, g_variables[a].size);
}

size_t static_shared_bytes(const void* kernel) {
  auto it = g_kernel_variables.find(kernel);
  if (it == g_kernel_variables.end()) return 0;
  size_t total = 0;
  for (uintptr_t a : it->second) total += g_variables[a].size;
  return total;
}

int64_t shared_byte_index(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  auto it = g_variables.upper_bound(a);
  if (it == g_variables.begin()) return -1;
  --it;
  if (a >= it->first + it->second.size) return -1;
  return it->second.first_byte + static_cast<int64_t>(a - it->first);
}

size_t shared_bytes_known() {
  return static_cast<size_t>(g_total_bytes);
}

}  // namespace lvk_emu
