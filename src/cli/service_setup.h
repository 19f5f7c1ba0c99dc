// What `vigil serve` and `vigil worker` set up alike: JSON logging on standard error, the decoder
// sandbox as configured, the media hasher that sends uploads to it, and the classifiers. Thread safety: call from
// the main thread at start-up; the hasher returned may be called from many threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "classify/classifier_set.h"
#include "sandbox/sandbox_pool.h"
#include "signals/hash_plugin_spec.h"
#include "server/server_config.h"
#include "vigil/matcher.h"
#include "vigil/status.h"
#include "workflow/upload_workflow.h"

namespace vigil::cli {

// JSON log lines ({"ts","level",...}) on standard error at `level`.
void SetUpLogging(const std::string& level);
// `text` as a JSON string literal, for log lines.
std::string JsonString(const std::string& text);
// Starts the decoder sandbox as configured: "auto" falls back to decoding in this process (with a
// warning) where the kernel refuses; "required" refuses to start instead. Null when off.
Result<std::unique_ptr<sandbox::SandboxPool>> StartSandbox(const server::ServerConfig& config);
// Hashes through `pool`, logging a worker lost or one that did not start.
MediaHasher SandboxHasher(sandbox::SandboxPool* pool);
// Loads the index: from config.index_snapshot when there is one and it is of this database (then
// the changes after it from the store), else every entry from the store. Logs which, how long it
// took and what it holds.
Status LoadIndex(Matcher& matcher, const server::ServerConfig& config);
// What starts a local classifier model: a sandbox pool of its own holding the model (the decoder
// sandbox's user, memory, time limits and worker count; one lane), whatever the decoder
// sandbox's mode, since a model file is parsed only under the filter.
classify::ModelHost SandboxModelHost(const server::ServerConfig& config);
// Reads `[hash_plugins] file` and registers its signal types (nullopt when there is none). Call it
// before the store is opened and the index loaded: the index keeps a plug-in type's entries only
// when it knows the type.
Result<std::optional<HashPluginsConfig>> RegisterConfiguredPlugins(const server::ServerConfig& config);
// Starts the plug-ins' sandbox workers (the decoder sandbox's user, memory and time limits) and
// returns what the workflow calls for each upload (`signals`) and what a lookup by value calls
// (`lookup`); logs each plug-in's name and version. The matcher must outlive them.
struct HashPluginCalls {
  std::function<Result<std::vector<PluginSignalMatch>>(std::span<const std::uint8_t>, const MediaHashOptions&)> signals;
  std::function<Result<std::vector<MatchHit>>(const std::string& signal, const std::string& value)> lookup;
  std::function<sandbox::PoolStats()> stats;  // the plug-ins' pool, for /metrics
};
Result<HashPluginCalls> StartHashPlugins(const server::ServerConfig& config, const HashPluginsConfig& plugins, const Matcher& matcher);
// The classifiers of `[classifiers] file` (null when none), with `rules` (may be null) checked
// against them (classify::CheckRulesNameClassifiers). Errors name the file.
Result<std::shared_ptr<classify::ClassifierSet>> LoadClassifiers(const server::ServerConfig& config, const PolicyRules* rules,
                                                                 const std::string& rules_path);

}  // namespace vigil::cli
