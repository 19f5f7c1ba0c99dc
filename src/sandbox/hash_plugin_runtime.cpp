// Loading and calling a licensed-hash plug-in in a sandbox worker (see hash_plugin_runtime.h).
#include "sandbox/hash_plugin_runtime.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "vigil/digest.h"

namespace vigil::sandbox {
namespace {

// Messages name the plug-in by its file name, never its path: an upload's error can reach an API client.
Result<std::vector<std::uint8_t>> ReadTrustedFile(const std::string& path, const std::string& name) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "cannot open the plug-in " + name + ": " + (errno == ELOOP ? std::string("it is a symbolic link (name the file itself)") : std::string(std::strerror(errno))));
  struct stat st{};
  Status checked;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + name + " is not a regular file");
  } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + name + " is owned by uid " + std::to_string(st.st_uid) +
                                                ", neither root nor the service's user: not loaded");
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + name + " is writable by its group or others: not loaded");
  } else if (st.st_size > (256 << 20)) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + name + " is larger than 256 MiB");
  }
  std::vector<std::uint8_t> bytes;
  if (checked) {
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != bytes.size()) checked = Fail(ErrorCode::kUnavailable, "cannot read the plug-in " + name);
  }
  close(fd);
  if (!checked) return tl::unexpected(checked.error());
  return bytes;
}

// The libraries a plug-in needs are loaded by the dynamic loader from disk, unchecked: they must
// come from the system's library folders (the worker's environment is empty, so no
// LD_LIBRARY_PATH), never from a folder the plug-in names. A plug-in with an RPATH or RUNPATH, or
// a needed library named by a path, is refused; so is a file that is not a 64-bit ELF object.
Status CheckDependencies(const std::string& name, std::span<const std::uint8_t> elf) {
  auto refuse = [&](const std::string& why) { return Fail(ErrorCode::kUnavailable, "the plug-in " + name + " " + why); };
  Elf64_Ehdr eh{};
  if (elf.size() < sizeof eh) return refuse("is not a 64-bit ELF shared object");
  std::memcpy(&eh, elf.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN ||
      eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return refuse("is not a 64-bit ELF shared object");
  }
  auto within = [&](std::uint64_t offset, std::uint64_t bytes) { return offset <= elf.size() && bytes <= elf.size() - offset; };
  if (!within(eh.e_phoff, std::uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr))) return refuse("is truncated");
  std::vector<Elf64_Phdr> segments(eh.e_phnum);
  std::memcpy(segments.data(), elf.data() + eh.e_phoff, segments.size() * sizeof(Elf64_Phdr));
  // A virtual address in the file, through the loadable segments.
  auto file_offset = [&](std::uint64_t address) -> std::optional<std::uint64_t> {
    for (const auto& p : segments) {
      if (p.p_type == PT_LOAD && address >= p.p_vaddr && address - p.p_vaddr < p.p_filesz) return p.p_offset + (address - p.p_vaddr);
    }
    return std::nullopt;
  };
  for (const auto& p : segments) {
    if (p.p_type != PT_DYNAMIC) continue;
    if (!within(p.p_offset, p.p_filesz)) return refuse("is truncated");
    std::vector<Elf64_Dyn> entries(p.p_filesz / sizeof(Elf64_Dyn));
    std::memcpy(entries.data(), elf.data() + p.p_offset, entries.size() * sizeof(Elf64_Dyn));
    std::optional<std::uint64_t> strtab;
    std::uint64_t strsz = 0;
    for (const auto& d : entries) {
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_RPATH || d.d_tag == DT_RUNPATH) {
        return refuse("names folders to load its libraries from (an RPATH or RUNPATH): its libraries must come from the "
                      "system's library folders; link it without -rpath");
      }
      if (d.d_tag == DT_STRTAB) strtab = file_offset(d.d_un.d_ptr);
      if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
    }
    for (const auto& d : entries) {
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag != DT_NEEDED) continue;
      if (!strtab || d.d_un.d_val >= strsz || !within(*strtab + d.d_un.d_val, 1)) return refuse("has a malformed dynamic section");
      const char* text = reinterpret_cast<const char*>(elf.data() + *strtab + d.d_un.d_val);
      const std::string needed(text, strnlen(text, elf.size() - (*strtab + d.d_un.d_val)));
      if (needed.find('/') != std::string::npos) {
        return refuse("needs a library by its path (" + needed.substr(0, 64) + "): its libraries must come from the system's library folders");
      }
    }
  }
  return {};
}

bool ValidName(const char* name) {
  if (name == nullptr) return false;
  const std::size_t n = strnlen(name, VIGIL_HASH_PLUGIN_MAX_NAME + 1);
  if (n < 2 || n > VIGIL_HASH_PLUGIN_MAX_NAME || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name, name + n, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool ValidVersion(const char* version) {
  if (version == nullptr) return false;
  const std::size_t n = strnlen(version, 65);
  return n >= 1 && n <= 64 && std::all_of(version, version + n, [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

Result<std::unique_ptr<LoadedHashPlugin>> LoadedHashPlugin::Open(const std::string& path, const std::string& sha256) {
  const std::string name = path.substr(path.find_last_of('/') + 1);
  VIGIL_ASSIGN_OR_RETURN(auto bytes, ReadTrustedFile(path, name));
  const std::string actual = Sha256Hex(std::span<const std::uint8_t>(bytes));
  if (actual != sha256) {
    return Fail(ErrorCode::kUnavailable, "the plug-in " + name + " has sha256 " + actual + ", not the configured " + sha256 +
                                             ": not loaded");
  }
  VIGIL_TRY(CheckDependencies(name, bytes));
  // What was checked is what loads: the bytes, from a sealed memory file.
  const int mem = memfd_create("vigil-hash-plugin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0) return Fail(ErrorCode::kUnavailable, std::string("memfd_create: ") + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(mem, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written != bytes.size() || fcntl(mem, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    close(mem);
    return Fail(ErrorCode::kUnavailable, "cannot stage the plug-in " + name + " in memory");
  }
  const std::string staged = "/proc/self/fd/" + std::to_string(mem);
  void* handle = dlopen(staged.c_str(), RTLD_NOW | RTLD_LOCAL);
  // The memory file stays open for the process's life: the loader knows objects by name, and a
  // second plug-in staged under a reused descriptor number would be handed this one.
  if (handle == nullptr) {
    close(mem);
    const char* why = dlerror();
    return Fail(ErrorCode::kUnavailable, "cannot load the plug-in " + name + ": " + (why != nullptr ? why : "unknown reason"));
  }
  auto entry = reinterpret_cast<vigil_hash_plugin_entry_fn>(dlsym(handle, VIGIL_HASH_PLUGIN_ENTRY));
  if (entry == nullptr) {
    return Fail(ErrorCode::kUnavailable, "the plug-in " + name + " does not export " + VIGIL_HASH_PLUGIN_ENTRY);
  }
  auto plugin = std::unique_ptr<LoadedHashPlugin>(new LoadedHashPlugin);
  plugin->entry_ = entry;
  plugin->file_name_ = name;
  return plugin;
}

Status LoadedHashPlugin::Describe() {
  auto refuse = [&](const std::string& why) { return Fail(ErrorCode::kUnavailable, "the plug-in " + file_name_ + " " + why); };
  if (entry_ == nullptr) return refuse("was not opened");
  const vigil_hash_plugin_v1* table = entry_(VIGIL_HASH_PLUGIN_ABI);
  if (table == nullptr) return refuse("does not speak the plug-in ABI " + std::to_string(VIGIL_HASH_PLUGIN_ABI));
  if (table->abi != VIGIL_HASH_PLUGIN_ABI) {
    return refuse("answered ABI " + std::to_string(table->abi) + " when asked for " + std::to_string(VIGIL_HASH_PLUGIN_ABI));
  }
  if (!ValidName(table->name)) return refuse("gives no valid name (2-32 bytes of a-z, 0-9, _, a letter first)");
  if (!ValidVersion(table->version)) return refuse("gives no valid version (1-64 printable ASCII bytes)");
  if (table->hash_bytes < 1 || table->hash_bytes > VIGIL_HASH_PLUGIN_MAX_BYTES) {
    return refuse("declares values of " + std::to_string(table->hash_bytes) + " bytes (1-" +
                  std::to_string(VIGIL_HASH_PLUGIN_MAX_BYTES) + ")");
  }
  if (table->input != VIGIL_HASH_INPUT_RGB && table->input != VIGIL_HASH_INPUT_BYTES) {
    return refuse("declares input " + std::to_string(table->input) + ", neither VIGIL_HASH_INPUT_RGB nor VIGIL_HASH_INPUT_BYTES");
  }
  if (table->input == VIGIL_HASH_INPUT_RGB ? table->hash_rgb == nullptr : table->hash_data == nullptr) {
    return refuse("has no hash function for its input");
  }
  if (table->distance == nullptr) return refuse("has no distance function");
  table_ = table;
  info_ = {table->name, table->version, table->hash_bytes, table->input, table->max_distance};
  return {};
}

Result<std::unique_ptr<LoadedHashPlugin>> LoadedHashPlugin::Load(const std::string& path, const std::string& sha256) {
  VIGIL_ASSIGN_OR_RETURN(auto plugin, Open(path, sha256));
  VIGIL_TRY(plugin->Describe());
  return plugin;
}

Result<PluginHash> LoadedHashPlugin::Answer(int rc, std::vector<std::uint8_t> out, const std::vector<char>& why) const {
  if (rc == VIGIL_HASH_OK) return PluginHash{std::move(out), ""};
  if (rc == VIGIL_HASH_UNSUITABLE) {
    const std::size_t n = strnlen(why.data(), why.size());
    if (n == why.size()) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' gave a reason without its end (no NUL)");
    std::string reason(why.data(), n);
    for (char& c : reason) {
      // Shown to people and written in JSON: printable ASCII only.
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    return PluginHash{{}, reason.empty() ? "no reason given" : reason};
  }
  return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' answered " + std::to_string(rc) +
                                        ", neither VIGIL_HASH_OK nor VIGIL_HASH_UNSUITABLE");
}

Result<PluginHash> LoadedHashPlugin::HashImage(const Image& image) const {
  if (info_.input != VIGIL_HASH_INPUT_RGB) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' hashes bytes, not pixels");
  std::vector<std::uint8_t> rgb(image.channels == 1 ? image.pixels.size() * 3 : 0);
  const std::uint8_t* pixels = image.pixels.data();
  if (image.channels == 1) {
    for (std::size_t i = 0; i < image.pixels.size(); ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = image.pixels[i];
    pixels = rgb.data();
  }
  // A guard byte past the value: a plug-in that writes more than it declared is caught.
  std::vector<std::uint8_t> out(info_.hash_bytes + 1, 0xa5);
  std::vector<char> why(256, '\0');
  const int rc = table_->hash_rgb(pixels, image.width, image.height, out.data(), why.data(), why.size());
  if (out.back() != 0xa5) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' wrote past its declared value length");
  out.pop_back();
  return Answer(rc, std::move(out), why);
}

Result<PluginHash> LoadedHashPlugin::HashBytes(std::span<const std::uint8_t> bytes) const {
  if (info_.input != VIGIL_HASH_INPUT_BYTES) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' hashes pixels, not bytes");
  std::vector<std::uint8_t> out(info_.hash_bytes + 1, 0xa5);
  std::vector<char> why(256, '\0');
  const int rc = table_->hash_data(bytes.data(), bytes.size(), out.data(), why.data(), why.size());
  if (out.back() != 0xa5) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' wrote past its declared value length");
  out.pop_back();
  return Answer(rc, std::move(out), why);
}

Result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> LoadedHashPlugin::Scan(std::span<const std::uint8_t> query,
                                                                                    std::span<const std::uint8_t> values,
                                                                                    std::uint32_t max_distance, std::size_t limit) const {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> near;
  const std::size_t size = info_.hash_bytes;
  if (query.size() != size || size == 0) return near;
  const std::size_t count = values.size() / size;
  // The plug-in's own scan, into room for this many; one that fills it may have left nearer values
  // out, so the scan is then made value by value.
  const std::size_t capacity = std::min<std::size_t>(count, 1 << 16);
  bool scanned = false;
  if (table_->scan != nullptr && count > 0) {
    std::vector<std::uint32_t> positions(capacity), distances(capacity);
    const std::size_t found = table_->scan(query.data(), values.data(), count, max_distance, positions.data(), distances.data(), capacity);
    if (found > capacity) {
      return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' says its scan found " + std::to_string(found) +
                                            " values, more than the room it was given");
    }
    if (found < capacity || capacity == count) {
      std::vector<bool> seen(count, false);
      for (std::size_t i = 0; i < found; ++i) {
        const std::uint32_t at = positions[i];
        if (at >= count || seen[at] || distances[i] > max_distance ||
            table_->distance(query.data(), values.data() + std::size_t{at} * size) != distances[i]) {
          return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' answered a scan its distance does not agree with");
        }
        seen[at] = true;
        near.emplace_back(at, distances[i]);
      }
      scanned = true;
    }
  }
  if (!scanned) {
    near.clear();
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t d = table_->distance(query.data(), values.data() + i * size);
      if (d <= max_distance) near.emplace_back(static_cast<std::uint32_t>(i), d);
    }
  }
  std::sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second < b.second : a.first < b.first; });
  if (near.size() > limit) near.resize(limit);
  return near;
}

}  // namespace vigil::sandbox
