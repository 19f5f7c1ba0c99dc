// Exchanges as JSON (see exchange_json.h).
#include "exchange/exchange_json.h"

#include "util/iso_time.h"

namespace vigil::exchange {
namespace {

boost::json::value Time(const std::optional<std::int64_t>& micros) {
  if (!micros) return nullptr;
  return boost::json::value(IsoTime(*micros));
}

Status Refuse(const std::string& key, const char* what) {
  return Fail(ErrorCode::kInvalidArgument, "exchange field '" + key + "' " + what);
}

}  // namespace

boost::json::object ExchangeJson(const Exchange& x, std::int64_t now) {
  const auto& s = x.status;
  boost::json::object status{
      {"last_run_at", Time(s.last_run_at)},
      {"last_success_at", Time(s.last_success_at)},
      {"ok", s.last_run_at ? boost::json::value(s.last_ok) : boost::json::value(nullptr)},
      {"last_error", s.last_error},
      {"last_fetched", s.last_fetched},
      {"last_added", s.last_added},
      {"last_removed", s.last_removed},
      {"total_fetched", s.total_fetched},
      {"runs", s.runs},
      {"failures", s.failures},
      {"newest_item_at", Time(s.newest_item_at)},
      {"lag_seconds", s.newest_item_at ? boost::json::value((now - *s.newest_item_at) / 1'000'000) : boost::json::value(nullptr)},
      {"syncing", s.lease_until > now ? boost::json::value(s.lease_holder) : boost::json::value(nullptr)},
      {"feedback_queued", s.feedback_queued},
      {"feedback_sent", s.feedback_sent},
      {"feedback_failed", s.feedback_failed},
  };
  boost::system::error_code ec;
  auto settings = boost::json::parse(x.settings, ec);
  return {{"name", x.name},
          {"kind", x.kind},
          {"bank", x.bank},
          {"enabled", x.enabled},
          {"interval_seconds", x.interval_seconds},
          {"feedback", x.feedback},
          {"settings", ec ? boost::json::value(boost::json::object()) : settings},
          {"credentials", x.credentials},
          {"created_at", IsoTime(x.created_at)},
          {"created_by", x.created_by},
          {"updated_at", IsoTime(x.updated_at)},
          {"status", std::move(status)}};
}

boost::json::object FeedbackJson(const FeedbackItem& f) {
  return {{"id", f.id},
          {"exchange", f.exchange},
          {"entry_id", f.entry_id},
          {"signal_type", f.signal_type},
          {"value", f.value},
          {"member", f.provenance.member},
          {"external_id", f.provenance.external_id},
          {"source", f.source},
          {"source_id", f.source_id},
          {"verdict", f.verdict},
          {"reason", f.reason},
          {"state", f.state},
          {"attempts", f.attempts},
          {"last_error", f.last_error},
          {"created_at", IsoTime(f.created_at)},
          {"sent_at", Time(f.sent_at)}};
}

boost::json::object SyncOutcomeJson(const SyncOutcome& o) {
  return {{"pages", o.pages},         {"fetched", o.fetched},     {"skipped", o.skipped},
          {"added", o.added},         {"removed", o.removed},     {"unchanged", o.unchanged},
          {"overridden", o.overridden}, {"checkpoint", o.checkpoint}, {"resumed", o.started_from_checkpoint}};
}

boost::json::object FeedbackOutcomeJson(const FeedbackOutcome& o) {
  return {{"queued", o.queued}, {"sent", o.sent}, {"skipped", o.skipped}, {"failed", o.failed}, {"retrying", o.retrying}};
}

Result<ExchangeUpdate> ParseExchangeUpdate(const boost::json::object& body) {
  ExchangeUpdate u;
  for (const auto& [key_view, value] : body) {
    const std::string key(key_view);
    if (key == "enabled" || key == "feedback") {
      if (!value.is_bool()) return tl::unexpected(Refuse(key, "must be true or false").error());
      (key == "enabled" ? u.enabled : u.feedback) = value.as_bool();
    } else if (key == "interval_seconds") {
      if (!value.is_int64()) return tl::unexpected(Refuse(key, "must be an integer").error());
      u.interval_seconds = value.as_int64();
    } else if (key == "settings") {
      if (!value.is_object()) return tl::unexpected(Refuse(key, "must be a JSON object").error());
      u.settings = boost::json::serialize(value);
    } else if (key == "credentials") {
      if (!value.is_string()) return tl::unexpected(Refuse(key, "must be env:NAME or file:/path").error());
      u.credentials = std::string(value.as_string());
    } else {
      return tl::unexpected(Refuse(key, "is not one that can be changed (enabled, interval_seconds, feedback, settings, "
                                        "credentials)").error());
    }
  }
  return u;
}

Result<Exchange> ParseNewExchange(const boost::json::object& body) {
  Exchange x;
  boost::json::object rest;
  for (const auto& [key_view, value] : body) {
    const std::string key(key_view);
    if (key == "name" || key == "kind" || key == "bank") {
      if (!value.is_string()) return tl::unexpected(Refuse(key, "must be a string").error());
      (key == "name" ? x.name : key == "kind" ? x.kind : x.bank) = std::string(value.as_string());
    } else {
      rest[key] = value;
    }
  }
  if (x.name.empty() || x.kind.empty() || x.bank.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a new exchange needs name, kind and bank");
  }
  VIGIL_ASSIGN_OR_RETURN(auto u, ParseExchangeUpdate(rest));
  if (u.enabled) x.enabled = *u.enabled;
  if (u.feedback) x.feedback = *u.feedback;
  if (u.interval_seconds) x.interval_seconds = *u.interval_seconds;
  if (u.settings) x.settings = *u.settings;
  if (u.credentials) x.credentials = *u.credentials;
  return x;
}

}  // namespace vigil::exchange
