// A licensed-hash plug-in (vigil/hash_plugin.h) loaded in a sandbox worker, and the list of its
// signal type's values the worker scans with the plug-in's distance.
//
// Opening (before the worker confines itself): the file is read whole, its SHA-256 checked against
// the operator's, its owner and mode checked (root or this process's user, writable by no one
// else), its libraries checked to come from the system's folders (no RPATH, RUNPATH or path), and
// the bytes that were checked are what dlopen loads (from a sealed memfd, so the file cannot change
// between the check and the load). The object's constructors run then, unconfined. Describing
// (after the worker confines itself): the entry point is called and its table checked: the ABI
// version, a valid name, a value length within bounds, the functions its input needs.
//
// Calling it (under the filter): every answer is checked; a length the plug-in did not declare,
// an unknown return code or an unterminated reason is an error naming the plug-in.
//
// Thread safety: one thread at a time (a worker is one request at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vigil/hash_plugin.h"
#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil::sandbox {

struct HashPluginInfo {
  std::string name, version;
  std::uint32_t hash_bytes = 0;
  std::uint32_t input = 0;  // VIGIL_HASH_INPUT_RGB or _BYTES
  std::uint32_t max_distance = 0;
};

// What hashing one input gave: the value, or why the plug-in found the input unsuitable.
struct PluginHash {
  std::vector<std::uint8_t> value;  // hash_bytes long; empty when unsuitable
  std::string unsuitable;           // the plug-in's reason
};

class LoadedHashPlugin {
 public:
  // Open (before the worker confines itself: it reads files, and the loader maps the object and
  // its libraries) then Describe (under the filter: the plug-in's entry point is its code). Errors
  // are kUnavailable (the installation's fault), naming the file (by its name, not its path) and
  // what was wrong.
  static Result<std::unique_ptr<LoadedHashPlugin>> Open(const std::string& path, const std::string& sha256);
  Status Describe();
  // Both, for callers that are not confined (tests, benchmarks).
  static Result<std::unique_ptr<LoadedHashPlugin>> Load(const std::string& path, const std::string& sha256);

  const HashPluginInfo& info() const { return info_; }
  // For an RGB plug-in: the image (converted to RGB when grey). For a bytes plug-in: the bytes.
  Result<PluginHash> HashImage(const Image& image) const;
  Result<PluginHash> HashBytes(std::span<const std::uint8_t> bytes) const;
  std::uint32_t Distance(const std::uint8_t* a, const std::uint8_t* b) const { return table_->distance(a, b); }

  // The values (`count` of hash_bytes each, concatenated) within `max_distance` of `query`, as
  // (position, distance), nearest first, at most `limit` of them: by the plug-in's own scan when
  // it has one (every pair it answers checked against its distance; kInternal when one is wrong),
  // else by its distance, value by value.
  Result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> Scan(std::span<const std::uint8_t> query,
                                                                    std::span<const std::uint8_t> values,
                                                                    std::uint32_t max_distance, std::size_t limit) const;

 private:
  LoadedHashPlugin() = default;
  Result<PluginHash> Answer(int rc, std::vector<std::uint8_t> out, const std::vector<char>& why) const;
  vigil_hash_plugin_entry_fn entry_ = nullptr;
  std::string file_name_;
  const vigil_hash_plugin_v1* table_ = nullptr;
  HashPluginInfo info_;
};

}  // namespace vigil::sandbox
