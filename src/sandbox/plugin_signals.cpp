// Licensed-hash plug-ins in an upload's life (see plugin_signals.h).
#include "sandbox/plugin_signals.h"

#include <algorithm>
#include <string>

#include "util/hex.h"
#include "vigil/signal_type.h"

namespace vigil::sandbox {

Result<std::unique_ptr<PluginSignals>> PluginSignals::Start(const HashPluginsConfig& config, PoolOptions pool) {
  VIGIL_TRY(RegisterHashPlugins(config));
  pool.workers = config.workers;
  pool.large_workers = 0;  // one lane: every request hashes with a plug-in, and each holds the lists
  pool.models.clear();
  pool.hash_plugins.clear();
  for (const auto& spec : config.plugins) {
    pool.hash_plugins.push_back({spec.signal, spec.path.string(), spec.sha256, spec.hash_bytes});
  }
  VIGIL_ASSIGN_OR_RETURN(auto started, SandboxPool::Start(std::move(pool)));
  return std::unique_ptr<PluginSignals>(new PluginSignals(config, std::move(started)));
}

Result<std::vector<PluginSignalMatch>> PluginSignals::HashAndMatch(std::span<const std::uint8_t> bytes,
                                                                   const MediaHashOptions& options,
                                                                   const Matcher& matcher) const {
  std::vector<PluginSignalMatch> out;
  for (const auto& spec : config_.plugins) {
    const auto info = pool_->Plugin(spec.signal);
    if (!info) return Fail(ErrorCode::kInternal, "hash plug-in '" + spec.signal + "' is not in the sandbox");
    const auto entries = matcher.PluginEntriesOf(spec.signal);
    if (entries == nullptr) return Fail(ErrorCode::kInternal, "signal type '" + spec.signal + "' is not registered");
    const std::uint32_t max_distance = spec.max_distance.value_or(info->max_distance);
    VIGIL_ASSIGN_OR_RETURN(auto answer, pool_->HashWithPlugin(spec.signal, bytes, options, {entries->version, entries->values},
                                                              max_distance));
    PluginSignalMatch match;
    match.signal_type = spec.signal;
    match.value = std::move(answer.value);
    match.unsuitable = std::move(answer.unsuitable);
    match.hits = matcher.PluginHits(*entries, spec.signal, answer.near);
    out.push_back(std::move(match));
  }
  return out;
}

Result<std::vector<MatchHit>> PluginSignals::LookupValue(const std::string& signal, const std::string& value,
                                                         const Matcher& matcher) const {
  const auto spec = std::find_if(config_.plugins.begin(), config_.plugins.end(), [&](const auto& p) { return p.signal == signal; });
  const auto info = pool_->Plugin(signal);
  if (spec == config_.plugins.end() || !info) return Fail(ErrorCode::kInvalidArgument, "no hash plug-in '" + signal + "'");
  VIGIL_ASSIGN_OR_RETURN(auto normalized, NormalizeSignal(signal, value));
  VIGIL_ASSIGN_OR_RETURN(auto bytes, util::HexDecode(normalized));
  const auto entries = matcher.PluginEntriesOf(signal);
  if (entries == nullptr) return Fail(ErrorCode::kInternal, "signal type '" + signal + "' is not registered");
  VIGIL_ASSIGN_OR_RETURN(auto answer, pool_->MatchPluginValue(signal, bytes, {entries->version, entries->values},
                                                              spec->max_distance.value_or(info->max_distance)));
  return matcher.PluginHits(*entries, signal, answer.near);
}

}  // namespace vigil::sandbox
