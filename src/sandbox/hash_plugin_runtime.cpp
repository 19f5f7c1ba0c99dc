// Loading and calling a licensed-hash plug-in in a sandbox worker (see hash_plugin_runtime.h).
#include "sandbox/hash_plugin_runtime.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vigil/digest.h"

namespace vigil::sandbox {
namespace {

Result<std::vector<std::uint8_t>> ReadTrustedFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "cannot open the plug-in " + path + ": " + std::strerror(errno));
  struct stat st{};
  Status checked;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + path + " is not a regular file");
  } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + path + " is owned by uid " + std::to_string(st.st_uid) +
                                                ", neither root nor the service's user: not loaded");
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + path + " is writable by its group or others: not loaded");
  } else if (st.st_size > (256 << 20)) {
    checked = Fail(ErrorCode::kUnavailable, "the plug-in " + path + " is larger than 256 MiB");
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
    if (got != bytes.size()) checked = Fail(ErrorCode::kUnavailable, "cannot read the plug-in " + path);
  }
  close(fd);
  if (!checked) return tl::unexpected(checked.error());
  return bytes;
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

Result<std::unique_ptr<LoadedHashPlugin>> LoadedHashPlugin::Load(const std::string& path, const std::string& sha256) {
  VIGIL_ASSIGN_OR_RETURN(auto bytes, ReadTrustedFile(path));
  const std::string actual = Sha256Hex(std::span<const std::uint8_t>(bytes));
  if (actual != sha256) {
    return Fail(ErrorCode::kUnavailable, "the plug-in " + path + " has sha256 " + actual + ", not the configured " + sha256 +
                                             ": not loaded");
  }
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
    return Fail(ErrorCode::kUnavailable, "cannot stage the plug-in " + path + " in memory");
  }
  const std::string staged = "/proc/self/fd/" + std::to_string(mem);
  void* handle = dlopen(staged.c_str(), RTLD_NOW | RTLD_LOCAL);
  // The memory file stays open for the process's life: the loader knows objects by name, and a
  // second plug-in staged under a reused descriptor number would be handed this one.
  if (handle == nullptr) {
    close(mem);
    const char* why = dlerror();
    return Fail(ErrorCode::kUnavailable, "cannot load the plug-in " + path + ": " + (why != nullptr ? why : "unknown reason"));
  }
  auto entry = reinterpret_cast<vigil_hash_plugin_entry_fn>(dlsym(handle, VIGIL_HASH_PLUGIN_ENTRY));
  if (entry == nullptr) {
    return Fail(ErrorCode::kUnavailable, "the plug-in " + path + " does not export " + VIGIL_HASH_PLUGIN_ENTRY);
  }
  const vigil_hash_plugin_v1* table = entry(VIGIL_HASH_PLUGIN_ABI);
  auto refuse = [&](const std::string& why) {
    return Fail(ErrorCode::kUnavailable, "the plug-in " + path + " " + why);
  };
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
  auto plugin = std::unique_ptr<LoadedHashPlugin>(new LoadedHashPlugin);
  plugin->table_ = table;
  plugin->info_ = {table->name, table->version, table->hash_bytes, table->input, table->max_distance};
  return plugin;
}

Result<PluginHash> LoadedHashPlugin::Answer(int rc, std::vector<std::uint8_t> out, const std::vector<char>& why) const {
  if (rc == VIGIL_HASH_OK) return PluginHash{std::move(out), ""};
  if (rc == VIGIL_HASH_UNSUITABLE) {
    const std::size_t n = strnlen(why.data(), why.size());
    if (n == why.size()) return Fail(ErrorCode::kInternal, "hash plug-in '" + info_.name + "' gave a reason without its end (no NUL)");
    std::string reason(why.data(), n);
    for (char& c : reason) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
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

std::vector<std::pair<std::uint32_t, std::uint32_t>> LoadedHashPlugin::Scan(std::span<const std::uint8_t> query,
                                                                            std::span<const std::uint8_t> values,
                                                                            std::uint32_t max_distance, std::size_t limit) const {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> near;
  const std::size_t size = info_.hash_bytes;
  if (query.size() != size || size == 0) return near;
  const std::size_t count = values.size() / size;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t d = table_->distance(query.data(), values.data() + i * size);
    if (d <= max_distance) near.emplace_back(static_cast<std::uint32_t>(i), d);
  }
  std::sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second < b.second : a.first < b.first; });
  if (near.size() > limit) near.resize(limit);
  return near;
}

}  // namespace vigil::sandbox
