// Routes for exchanges (docs/exchanges.md): list, create, show, change, delete; sync now; reset the
// checkpoint; list and send feedback. And the service's loop that syncs enabled exchanges on their
// intervals and sends their feedback, one replica at a time (the store's lease).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "exchange/exchange_json.h"
#include "exchange/exchange_sync.h"
#include "server/api_service.h"
#include "server/api_support.h"
#include "vigil/exchange.h"
#include "workflow/retro_matcher.h"

namespace vigil::server {
namespace {

std::string Json(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }

// One run of this process, as a lease holder: a sync or feedback run holds the exchange alone,
// also against another run in this process (two API calls at once), not only other replicas.
std::string Holder() {
  static const std::string process = [] {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string("serve@") + host + ":" + std::to_string(::getpid());
  }();
  static std::atomic<std::int64_t> runs{0};
  return process + "#" + std::to_string(++runs);
}

}  // namespace

Status ApiService::CheckExchangeCredentials(const Exchange& exchange) const {
  const auto& where = exchange.credentials;
  // Not a location at all: the store refuses it (400) and says what a location is.
  if (where.rfind("env:", 0) != 0 && where.rfind("file:", 0) != 0) return {};
  // The service reads only variables meant for exchanges and files in the directory meant for
  // them: a bank admin cannot have another secret of the process (the database's, the vault's)
  // sent as an exchange's credentials.
  if (where.rfind("env:", 0) == 0) {
    if (where.rfind("env:VIGIL_EXCHANGE_", 0) == 0) return {};
    return Fail(ErrorCode::kPermissionDenied, "exchange '" + exchange.name +
                                                  "': the service reads credentials only from variables named "
                                                  "VIGIL_EXCHANGE_*, not " + where.substr(4));
  }
  const auto& directory = options_.exchange_credentials_directory;
  if (!directory.empty() && where.rfind("file:", 0) == 0) {
    std::error_code ec;
    const auto resolved = std::filesystem::weakly_canonical(where.substr(5), ec);
    auto root = std::filesystem::weakly_canonical(directory, ec);
    const auto relative = resolved.lexically_relative(root);
    if (!ec && !relative.empty() && *relative.begin() != "..") return {};
  }
  return Fail(ErrorCode::kPermissionDenied, "exchange '" + exchange.name + "': the service reads credential files only "
                                                "under [exchanges] credentials_directory" +
                                                (directory.empty() ? " (not set)" : ""));
}

Status ApiService::CheckExchangeHost(const Exchange& exchange) const {
  VIGIL_ASSIGN_OR_RETURN(auto host, exchange::ExchangeHost(exchange));
  if (host.empty()) {
    if (options_.exchange_list_directory.empty()) {
      return Fail(ErrorCode::kPermissionDenied, "exchange '" + exchange.name +
                                                    "': this service reads no list files ([exchanges] list_directory is not set)");
    }
    // The list's path as written, against the directory (the read resolves links again).
    boost::system::error_code json_error;
    const auto settings = boost::json::parse(exchange.settings, json_error);
    const auto* url = !json_error && settings.is_object() ? settings.as_object().if_contains("url") : nullptr;
    if (url != nullptr && url->is_string()) {
      std::error_code ec;
      const auto path = std::filesystem::weakly_canonical(std::string(url->as_string()).substr(5), ec);
      const auto root = std::filesystem::weakly_canonical(options_.exchange_list_directory, ec);
      const auto relative = path.lexically_relative(root);
      if (ec || relative.empty() || *relative.begin() == "..") {
        return Fail(ErrorCode::kPermissionDenied, "exchange '" + exchange.name +
                                                      "': the list file is outside the directories lists may be read from "
                                                      "([exchanges] list_directory)");
      }
    }
    return {};
  }
  auto allowed = exchange::ServiceHosts(exchange.kind);
  allowed.insert(allowed.end(), options_.exchange_allowed_hosts.begin(), options_.exchange_allowed_hosts.end());
  if (std::find(allowed.begin(), allowed.end(), host) == allowed.end()) {
    return Fail(ErrorCode::kPermissionDenied, "exchange '" + exchange.name + "': " + host +
                                                  " is not a host this service may reach for a " + exchange.kind +
                                                  " exchange (add it to [exchanges] allowed_hosts)");
  }
  return {};
}

Result<boost::json::object> ApiService::SetupFailed(const Exchange& x, const Error& error) {
  // Recorded as the run's outcome, so the status (and the console) say why nothing happens.
  ExchangeRun run;
  run.started_at = SystemClock().NowMicros();
  run.error = "cannot start: " + error.message;
  (void)store_.Exchanges().RecordRun(x.name, run);
  metrics_.CountExchangeRun(x.name, "failed", 0);
  spdlog::warn(R"("msg":"exchange cannot start","exchange":{},"error":{})", Json(x.name), Json(error.ToString()));
  return Fail(ErrorCode::kInvalidArgument, run.error);
}

Result<boost::json::object> ApiService::RunExchangeSync(const Exchange& x) {
  if (auto allowed = CheckExchangeHost(x); !allowed) return SetupFailed(x, allowed.error());
  if (auto allowed = CheckExchangeCredentials(x); !allowed) return SetupFailed(x, allowed.error());
  exchange::ClientOptions options;
  // Requests go only to the service's hosts and those the operator allowed: a bank admin cannot
  // send an exchange's credentials elsewhere.
  options.limits.allowed_hosts = exchange::ServiceHosts(x.kind);
  options.limits.allowed_hosts.insert(options.limits.allowed_hosts.end(), options_.exchange_allowed_hosts.begin(),
                                      options_.exchange_allowed_hosts.end());
  if (!options_.exchange_list_directory.empty()) options.list_roots = {options_.exchange_list_directory};
  auto client = exchange::MakeExchangeClient(x, options);
  if (!client) return SetupFailed(x, client.error());
  exchange::SyncOptions sync;
  sync.holder = Holder();
  std::int64_t late = 0;
  sync.on_import = [&](const std::string& bank, const ImportResult& result) {
    metrics_.CountImport(bank, "ok", result.added, result.removed);
    if (retro_ == nullptr || result.added_entries.empty()) return;
    auto target = store_.GetBank(bank);
    auto found = target ? retro_->MatchNewEntries(*target, result.added_entries)
                        : Result<RetroMatchResult>(tl::unexpected(target.error()));
    if (found) {
      late += found->matches_recorded;
      metrics_.CountLateMatches(bank, found->matches_recorded, found->failed);
    } else {
      spdlog::error(R"("msg":"retroactive matching failed","exchange":{},"error":{})", Json(x.name), Json(found.error().ToString()));
    }
  };
  const auto started = std::chrono::steady_clock::now();
  auto outcome = exchange::SyncExchange(store_, x.name, **client, sync);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!outcome) {
    const bool busy = outcome.error().code == ErrorCode::kUnavailable && outcome.error().message.find("being synced by") != std::string::npos;
    metrics_.CountExchangeRun(x.name, busy ? "busy" : "failed", 0);
    if (!busy) {
      spdlog::warn(R"("msg":"exchange sync failed","exchange":{},"seconds":{:.3f},"error":{})", Json(x.name), seconds,
                   Json(outcome.error().ToString()));
    }
    return tl::unexpected(outcome.error());
  }
  metrics_.CountExchangeRun(x.name, "ok", outcome->fetched);
  if (auto now = store_.Exchanges().GetExchange(x.name)) UpdateExchangeGauges(*now, SystemClock().NowMicros());
  if (outcome->added + outcome->removed > 0) (void)matcher_.Refresh();
  spdlog::info(R"("msg":"exchange synced","exchange":{},"seconds":{:.3f},"pages":{},"fetched":{},"added":{},"removed":{},)"
               R"("late_matches":{})",
               Json(x.name), seconds, outcome->pages, outcome->fetched, outcome->added, outcome->removed, late);
  auto json = exchange::SyncOutcomeJson(*outcome);
  if (retro_ != nullptr) json["late_matches"] = late;
  return json;
}

Result<boost::json::object> ApiService::RunExchangeFeedback(const Exchange& x) {
  VIGIL_TRY(CheckExchangeHost(x));
  VIGIL_TRY(CheckExchangeCredentials(x));
  exchange::ClientOptions options;
  options.limits.allowed_hosts = exchange::ServiceHosts(x.kind);
  options.limits.allowed_hosts.insert(options.limits.allowed_hosts.end(), options_.exchange_allowed_hosts.begin(),
                                      options_.exchange_allowed_hosts.end());
  VIGIL_ASSIGN_OR_RETURN(auto client, exchange::MakeExchangeClient(x, options));
  exchange::FeedbackOptions feedback;
  feedback.holder = Holder();
  VIGIL_ASSIGN_OR_RETURN(auto outcome, exchange::SendExchangeFeedback(store_, x.name, *client, feedback));
  metrics_.CountExchangeFeedback(x.name, "sent", outcome.sent);
  metrics_.CountExchangeFeedback(x.name, "skipped", outcome.skipped);
  metrics_.CountExchangeFeedback(x.name, "failed", outcome.failed);
  metrics_.CountExchangeFeedback(x.name, "retrying", outcome.retrying);
  if (outcome.sent + outcome.failed + outcome.retrying > 0) {
    spdlog::info(R"("msg":"exchange feedback","exchange":{},"sent":{},"failed":{},"retrying":{})", Json(x.name), outcome.sent,
                 outcome.failed, outcome.retrying);
  }
  return exchange::FeedbackOutcomeJson(outcome);
}

void ApiService::UpdateExchangeGauges(const Exchange& x, std::int64_t now) {
  if (x.status.newest_item_at) metrics_.SetExchangeLag(x.name, static_cast<double>(now - *x.status.newest_item_at) / 1e6);
  // Since the last success, or since it was made when it never succeeded (an alert on this sees
  // an exchange that never worked).
  const auto since = x.status.last_success_at.value_or(x.created_at);
  metrics_.SetExchangeSinceSuccess(x.name, static_cast<double>(now - since) / 1e6);
}

void ApiService::ExchangePass() {
  auto all = store_.Exchanges().ListExchanges();
  if (!all) {
    spdlog::warn(R"("msg":"exchanges unreadable","error":{})", Json(all.error().ToString()));
    return;
  }
  const auto now = SystemClock().NowMicros();
  for (const auto& x : *all) {
    UpdateExchangeGauges(x, now);
    if (!x.enabled) continue;
    if (x.status.lease_until > now) continue;  // another replica (or a person) is on it
    const bool due = !x.status.last_run_at || now - *x.status.last_run_at >= x.interval_seconds * 1'000'000;
    if (due) (void)RunExchangeSync(x);
    if (x.feedback) {
      if (auto sent = RunExchangeFeedback(x); !sent && sent.error().code != ErrorCode::kUnavailable) {
        spdlog::warn(R"("msg":"exchange feedback failed","exchange":{},"error":{})", Json(x.name), Json(sent.error().ToString()));
      }
    }
  }
}

void ApiService::StartExchanges() {
  if (options_.exchange_poll_seconds <= 0 || exchange_loop_ != nullptr) return;
  exchange_loop_ = std::make_unique<ExchangeLoop>();
  exchange_loop_->thread = std::thread([this] {
    auto& loop = *exchange_loop_;
    std::unique_lock lock(loop.mu);
    while (!loop.stop) {
      lock.unlock();
      ExchangePass();
      lock.lock();
      loop.cv.wait_for(lock, std::chrono::seconds(options_.exchange_poll_seconds), [&] { return loop.stop; });
    }
  });
}

void ApiService::StopExchanges() {
  if (exchange_loop_ == nullptr) return;
  {
    std::lock_guard lock(exchange_loop_->mu);
    exchange_loop_->stop = true;
  }
  exchange_loop_->cv.notify_all();
  if (exchange_loop_->thread.joinable()) exchange_loop_->thread.join();
  exchange_loop_.reset();
}

Response ApiService::ListExchanges(ApiCall&) {
  auto all = store_.Exchanges().ListExchanges();
  if (!all) return ErrorResponse(all.error());
  const auto now = SystemClock().NowMicros();
  boost::json::array out;
  for (const auto& x : *all) out.push_back(exchange::ExchangeJson(x, now));
  return JsonResponse(http::status::ok, boost::json::object{{"exchanges", std::move(out)}});
}

Response ApiService::CreateExchange(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto x = exchange::ParseNewExchange(*body);
  if (!x) return ErrorResponse(x.error());
  // Its settings are ones a client takes, and name a host this service may reach.
  if (auto checked = exchange::CheckExchangeSettings(*x); !checked) return ErrorResponse(checked.error());
  if (auto allowed = CheckExchangeHost(*x); !allowed) return ErrorResponse(allowed.error());
  if (auto allowed = CheckExchangeCredentials(*x); !allowed) return ErrorResponse(allowed.error());
  auto created = store_.Exchanges().CreateExchange(*x, call.actor);
  if (!created) return ErrorResponse(created.error());
  return JsonResponse(http::status::created, exchange::ExchangeJson(*created, SystemClock().NowMicros()));
}

Response ApiService::GetExchange(ApiCall& call) {
  auto x = store_.Exchanges().GetExchange(call.path["name"]);
  if (!x) return ErrorResponse(x.error());
  return JsonResponse(http::status::ok, exchange::ExchangeJson(*x, SystemClock().NowMicros()));
}

Response ApiService::PatchExchange(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto update = exchange::ParseExchangeUpdate(*body);
  if (!update) return ErrorResponse(update.error());
  auto before = store_.Exchanges().GetExchange(call.path["name"]);
  if (!before) return ErrorResponse(before.error());
  if (update->settings) {
    Exchange probe = *before;
    probe.settings = *update->settings;
    if (auto checked = exchange::CheckExchangeSettings(probe); !checked) return ErrorResponse(checked.error());
    if (auto allowed = CheckExchangeHost(probe); !allowed) return ErrorResponse(allowed.error());
  }
  if (update->credentials) {
    Exchange probe = *before;
    probe.credentials = *update->credentials;
    if (auto allowed = CheckExchangeCredentials(probe); !allowed) return ErrorResponse(allowed.error());
  }
  auto updated = store_.Exchanges().UpdateExchange(call.path["name"], *update, call.actor);
  if (!updated) return ErrorResponse(updated.error());
  return JsonResponse(http::status::ok, exchange::ExchangeJson(*updated, SystemClock().NowMicros()));
}

Response ApiService::DeleteExchange(ApiCall& call) {
  if (auto deleted = store_.Exchanges().DeleteExchange(call.path["name"], call.actor); !deleted) {
    return ErrorResponse(deleted.error());
  }
  return Response{http::status::no_content, 11};
}

Response ApiService::SyncExchange(ApiCall& call) {
  auto x = store_.Exchanges().GetExchange(call.path["name"]);
  if (!x) return ErrorResponse(x.error());
  auto outcome = RunExchangeSync(*x);
  if (!outcome) {
    // The service's own failure is a 502 (its answer was refused or it could not be reached); a
    // lease held elsewhere a 409.
    const auto& e = outcome.error();
    if (e.message.find("being synced by") != std::string::npos) return ErrorResponse(http::status::conflict, "busy", e.message);
    if (e.message.rfind("cannot start: ", 0) == 0) return ErrorResponse(e);  // the exchange's setup: 400
    return ErrorResponse(http::status::bad_gateway, "exchange_failed", e.message);
  }
  return JsonResponse(http::status::ok, *outcome);
}

Response ApiService::ResetExchange(ApiCall& call) {
  if (auto reset = store_.Exchanges().ResetCheckpoint(call.path["name"], call.actor); !reset) return ErrorResponse(reset.error());
  return Response{http::status::no_content, 11};
}

Response ApiService::ListExchangeFeedback(ApiCall& call) {
  auto entry = QueryInt(call.query, "entry_id", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (!entry) return ErrorResponse(entry.error());
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  if (auto x = store_.Exchanges().GetExchange(call.path["name"]); !x) return ErrorResponse(x.error());
  auto items = store_.Exchanges().ListFeedback(call.path["name"], *entry, static_cast<int>(*limit));
  if (!items) return ErrorResponse(items.error());
  boost::json::array out;
  for (const auto& item : *items) out.push_back(exchange::FeedbackJson(item));
  return JsonResponse(http::status::ok, boost::json::object{{"feedback", std::move(out)}});
}

Response ApiService::SendExchangeFeedback(ApiCall& call) {
  auto x = store_.Exchanges().GetExchange(call.path["name"]);
  if (!x) return ErrorResponse(x.error());
  auto outcome = RunExchangeFeedback(*x);
  if (!outcome) {
    if (outcome.error().code == ErrorCode::kUnavailable) return ErrorResponse(http::status::conflict, "busy", outcome.error().message);
    return ErrorResponse(outcome.error());
  }
  return JsonResponse(http::status::ok, *outcome);
}

}  // namespace vigil::server
