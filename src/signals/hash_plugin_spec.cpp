// The licensed-hash plug-ins file (see hash_plugin_spec.h).
#include "signals/hash_plugin_spec.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <toml++/toml.h>

#include "util/toml_guard.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

std::string LineOf(const toml::node* node) { return node != nullptr ? std::to_string(node->source().begin.line) : "1"; }

Status OnlyKeys(const toml::table& table, std::initializer_list<std::string_view> known, const std::string& source) {
  for (const auto& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + LineOf(&node) + ": unknown key '" + std::string(key.str()).substr(0, 64) + "'");
    }
  }
  return {};
}

bool IsLowerHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<HashPluginsConfig> ParseHashPluginsFile(std::string_view text, const std::string& source,
                                               const std::filesystem::path& folder) {
  VIGIL_ASSIGN_OR_RETURN(toml::table root, ParseTomlChecked(text, source));
  VIGIL_TRY(OnlyKeys(root, {"workers", "plugin"}, source));
  auto fail = [&](const toml::node* node, const std::string& why) -> Result<HashPluginsConfig> {
    return Fail(ErrorCode::kInvalidArgument, source + ":" + LineOf(node) + ": " + why);
  };
  HashPluginsConfig config;
  if (const toml::node* node = root.get("workers")) {
    const auto v = node->value<std::int64_t>();
    if (!node->is_integer() || !v || *v < 1 || *v > 64) return fail(node, "'workers' must be a whole number 1-64");
    config.workers = static_cast<int>(*v);
  }
  const toml::node* list = root.get("plugin");
  if (list == nullptr) return fail(nullptr, "no [[plugin]]: the file names no plug-in");
  const toml::array* plugins = list->as_array();
  if (plugins == nullptr || !plugins->is_array_of_tables()) return fail(list, "'plugin' must be [[plugin]] tables");
  for (const toml::node& item : *plugins) {
    const toml::table& t = *item.as_table();
    VIGIL_TRY(OnlyKeys(t, {"signal", "path", "sha256", "hash_bytes", "max_distance", "ncmec_fingerprint", "list_encoding",
                           "threatexchange_type"},
                       source));
    HashPluginSpec spec;
    auto text_of = [&](const char* key, std::string& out, bool required) -> Status {
      const toml::node* node = t.get(key);
      if (node == nullptr) {
        return required ? Fail(ErrorCode::kInvalidArgument, source + ":" + LineOf(&item) + ": [[plugin]] needs '" + key + "'")
                        : Status{};
      }
      auto v = node->value<std::string>();
      if (!node->is_string() || !v || v->empty() || v->size() > 4096) {
        return Fail(ErrorCode::kInvalidArgument, source + ":" + LineOf(node) + ": '" + key + "' must be a non-empty string");
      }
      out = *v;
      return {};
    };
    std::string path, encoding;
    VIGIL_TRY(text_of("signal", spec.signal, true));
    VIGIL_TRY(text_of("path", path, true));
    VIGIL_TRY(text_of("sha256", spec.sha256, false));
    VIGIL_TRY(text_of("ncmec_fingerprint", spec.ncmec_fingerprint, false));
    VIGIL_TRY(text_of("list_encoding", encoding, false));
    VIGIL_TRY(text_of("threatexchange_type", spec.threatexchange_type, false));
    {
      const std::string& n = spec.signal;
      const bool name_ok = n.size() >= 2 && n.size() <= 32 && n[0] >= 'a' && n[0] <= 'z' &&
                           std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
      if (!name_ok) return fail(t.get("signal"), "'signal' must be 2-32 bytes of a-z, 0-9 and _, starting with a letter");
    }
    if (!spec.sha256.empty() && !IsLowerHex64(spec.sha256)) return fail(t.get("sha256"), "'sha256' must be 64 lower-case hex digits");
    const toml::node* bytes = t.get("hash_bytes");
    if (bytes == nullptr) return fail(&item, "[[plugin]] needs 'hash_bytes' (the length of one value)");
    const auto n = bytes->value<std::int64_t>();
    if (!bytes->is_integer() || !n || *n < 1 || *n > 4096) return fail(bytes, "'hash_bytes' must be a whole number 1-4096");
    spec.hash_bytes = static_cast<std::size_t>(*n);
    if (const toml::node* node = t.get("max_distance")) {
      const auto d = node->value<std::int64_t>();
      if (!node->is_integer() || !d || *d < 0 || *d > 0xffffffffll) return fail(node, "'max_distance' must be a whole number 0-4294967295");
      spec.max_distance = static_cast<std::uint32_t>(*d);
    }
    if (encoding.empty() || encoding == "hex") {
      spec.list_encoding = SignalListEncoding::kHex;
    } else if (encoding == "base64") {
      spec.list_encoding = SignalListEncoding::kBase64;
    } else if (encoding == "decimal") {
      if (spec.hash_bytes == 1) return fail(t.get("list_encoding"), "a 1-byte value in decimal could be read as hex: use \"hex\"");
      spec.list_encoding = SignalListEncoding::kDecimalBytes;
    } else {
      return fail(t.get("list_encoding"), "'list_encoding' must be \"hex\", \"base64\" or \"decimal\"");
    }
    // The list names registration checks (RegisterPluginSignalType), here with the line.
    if (auto names = CheckPluginListNames({spec.signal, spec.hash_bytes, spec.ncmec_fingerprint, spec.list_encoding,
                                           spec.threatexchange_type});
        !names) {
      return fail(&item, names.error().message);
    }
    spec.path = std::filesystem::path(path).is_absolute() ? std::filesystem::path(path) : folder / path;
    spec.path = spec.path.lexically_normal();
    for (const auto& other : config.plugins) {
      if (other.signal == spec.signal) return fail(t.get("signal"), "signal type '" + spec.signal + "' is given twice");
    }
    if (const SignalTypeInfo* info = FindSignalType(spec.signal); info != nullptr && !info->plugin) {
      return fail(t.get("signal"), "'" + spec.signal + "' is a built-in signal type: a plug-in cannot take its name");
    }
    config.plugins.push_back(std::move(spec));
  }
  if (config.plugins.size() > 16) return fail(list, "at most 16 plug-ins");
  return config;
}

namespace {
// The plug-ins file chooses code and its digest, and each plug-in file is that code: owned by root
// or this process's user, writable by no one else, not a symbolic link (the worker opens it
// without following one).
Status CheckOwnedAndPrivate(const std::filesystem::path& path, const std::string& what) {
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) return Fail(ErrorCode::kNotFound, what + " " + path.string() + ": " + std::strerror(errno));
  if (S_ISLNK(st.st_mode)) return Fail(ErrorCode::kInvalidArgument, what + " " + path.string() + " is a symbolic link: name the file itself");
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return Fail(ErrorCode::kInvalidArgument, what + " " + path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                                                 ", neither root nor this user");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(ErrorCode::kInvalidArgument, what + " " + path.string() + " is writable by its group or others");
  }
  return {};
}
}  // namespace

Result<HashPluginsConfig> LoadHashPluginsFile(const std::filesystem::path& path) {
  VIGIL_TRY(CheckOwnedAndPrivate(path, "the hash plug-ins file"));
  auto text = ReadFileLimited(path, 1u << 20);
  if (!text) return Fail(text.error().code, "the hash plug-ins file " + path.string() + ": " + text.error().message);
  VIGIL_ASSIGN_OR_RETURN(auto config, ParseHashPluginsFile(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()),
                                                           path.string(), std::filesystem::absolute(path).parent_path()));
  for (const auto& spec : config.plugins) {
    if (auto ok = CheckOwnedAndPrivate(spec.path, path.string() + ": plug-in '" + spec.signal + "':"); !ok) return tl::unexpected(ok.error());
    auto bytes = ReadFileLimited(spec.path, 256u << 20);
    if (!bytes) {
      return Fail(bytes.error().code, path.string() + ": plug-in '" + spec.signal + "': " + spec.path.string() + ": " + bytes.error().message);
    }
    const std::string actual = Sha256Hex(std::span<const std::uint8_t>(*bytes));
    if (spec.sha256.empty()) {
      return Fail(ErrorCode::kInvalidArgument, path.string() + ": plug-in '" + spec.signal + "' must give its file's sha256 (" +
                                                   spec.path.string() + " has sha256 " + actual + ")");
    }
    if (spec.sha256 != actual) {
      return Fail(ErrorCode::kInvalidArgument, path.string() + ": plug-in '" + spec.signal + "': " + spec.path.string() +
                                                   " has sha256 " + actual + ", not the file's " + spec.sha256 +
                                                   " (a different build of the plug-in)");
    }
  }
  return config;
}

Status RegisterHashPlugins(const HashPluginsConfig& config) {
  for (const auto& spec : config.plugins) {
    VIGIL_TRY(RegisterPluginSignalType(
        {spec.signal, spec.hash_bytes, spec.ncmec_fingerprint, spec.list_encoding, spec.threatexchange_type}));
  }
  return {};
}

}  // namespace vigil
