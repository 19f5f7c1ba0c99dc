// The operator's licensed-hash plug-ins file (`[hash_plugins] file` in the service's configuration,
// `--hash-plugins` on the commands that import lists): which shared objects implement which signal
// types (vigil/hash_plugin.h), and how lists write their values. Reading it loads no code: the
// service's sandbox workers load the plug-ins (sandbox/hash_plugin_runtime.h) and check that each
// says what this file says.
//
//   # plugins.toml
//   workers = 2                       # sandbox workers that hash with the plug-ins (default 2)
//   [[plugin]]
//   signal = "dhash"                  # the signal type (the plug-in must call itself this)
//   path = "libdhash_plugin.so"       # relative to this file
//   sha256 = "..."                    # the shared object's SHA-256 (required)
//   hash_bytes = 8                    # every value's length (the plug-in must agree)
//   max_distance = 6                  # optional: match at this distance or nearer instead of the plug-in's own threshold
//   ncmec_fingerprint = "dhash"       # optional: the element NCMEC's XML lists its values under
//   list_encoding = "hex"             # hex (default), base64 or decimal ("12,0,255,...")
//   threatexchange_type = "HASH_X"    # optional: ThreatExchange's indicator type for its values
//
// Thread safety: pure functions, except RegisterHashPlugins (see vigil/signal_type.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vigil/signal_type.h"
#include "vigil/status.h"

namespace vigil {

struct HashPluginSpec {
  std::string signal;
  std::filesystem::path path;  // absolute (resolved against the file's folder)
  std::string sha256;
  std::size_t hash_bytes = 0;
  std::optional<std::uint32_t> max_distance;
  std::string ncmec_fingerprint;
  SignalListEncoding list_encoding = SignalListEncoding::kHex;
  std::string threatexchange_type;
};

struct HashPluginsConfig {
  std::vector<HashPluginSpec> plugins;
  int workers = 2;
};

// Parses the file's text (`source` names it in messages; relative paths resolve against `folder`).
// Every mistake is kInvalidArgument naming the line.
Result<HashPluginsConfig> ParseHashPluginsFile(std::string_view text, const std::string& source,
                                               const std::filesystem::path& folder);
// Reads and parses the file, and checks each plug-in file's SHA-256 against the one given (a
// missing or different digest is refused, and the message gives the file's actual one).
Result<HashPluginsConfig> LoadHashPluginsFile(const std::filesystem::path& path);
// Registers every plug-in's signal type (RegisterPluginSignalType), so lists and requests may name it.
Status RegisterHashPlugins(const HashPluginsConfig& config);

}  // namespace vigil
