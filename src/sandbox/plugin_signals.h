// Licensed-hash plug-ins in an upload's life: a sandbox pool of their own (every worker loads
// every plug-in of the operator's file), and, for each upload, each plug-in's value and the list
// entries of its type that are near it by the plug-in's own distance. The matcher keeps those
// entries (Matcher::PluginEntriesOf); the worker that hashes the upload scans them, so the
// plug-in's code never runs in the service's process.
//
// Thread safety: HashAndMatch may be called from many threads (the pool is thread-safe).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "sandbox/sandbox_pool.h"
#include "signals/hash_plugin_spec.h"
#include "vigil/matcher.h"

namespace vigil::sandbox {

class PluginSignals {
 public:
  // Starts the pool (`pool`'s executable, user, limits; its workers and plug-ins are set here from
  // `config`); fails with the reason a plug-in did not load or does not say what the file says.
  static Result<std::unique_ptr<PluginSignals>> Start(const HashPluginsConfig& config, PoolOptions pool);

  // Every plug-in's value of the upload, and its matches among `matcher`'s entries, nearest first.
  // An error (a plug-in crashed, looped, answered nonsense; the upload is over a limit) names the
  // plug-in; the upload should not be recorded without it.
  Result<std::vector<PluginSignalMatch>> HashAndMatch(std::span<const std::uint8_t> bytes, const MediaHashOptions& options,
                                                      const Matcher& matcher) const;

  // The entries of plug-in type `signal` near `value` (normalised hex), as an upload with that value
  // would match them: a lookup by hash, without the media. kInvalidArgument: not a plug-in of this pool.
  Result<std::vector<MatchHit>> LookupValue(const std::string& signal, const std::string& value, const Matcher& matcher) const;

  SandboxPool& pool() const { return *pool_; }
  const HashPluginsConfig& config() const { return config_; }

 private:
  PluginSignals(HashPluginsConfig config, std::unique_ptr<SandboxPool> pool) : config_(std::move(config)), pool_(std::move(pool)) {}
  HashPluginsConfig config_;
  std::unique_ptr<SandboxPool> pool_;
};

}  // namespace vigil::sandbox
