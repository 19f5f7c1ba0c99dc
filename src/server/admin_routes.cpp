// Routes for operations: health, readiness, metrics, the OpenAPI document, API keys, the audit log.
#include "server/api_service.h"
#include "server/api_support.h"
#include "vigil/clock.h"
#include "server/openapi_document.h"
#include "vigil/roles.h"
#include "vigil/sessions.h"

#include <map>

namespace vigil::server {

Response ApiService::Healthz(ApiCall&) { return JsonResponse(http::status::ok, boost::json::object{{"status", "ok"}}); }

Response ApiService::Readyz(ApiCall&) {
  if (!ready_) return ErrorResponse(http::status::service_unavailable, "unavailable", "the index is still loading");
  if (auto version = store_.SchemaVersion(); !version) {
    return ErrorResponse(http::status::service_unavailable, "unavailable", "the database is unreachable");
  }
  const auto stats = matcher_.Stats();
  return JsonResponse(http::status::ok, boost::json::object{{"status", "ready"},
                                                            {"store", store_.backend()},
                                                            {"banks", stats.banks},
                                                            {"pdq_entries", stats.entries_by_type[0]}});
}

Response ApiService::Metrics(ApiCall&) {
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "text/plain; version=0.0.4");
  if (options_.collect_metrics) options_.collect_metrics(metrics_);
  if (options_.classifiers) {
    for (const auto& [name, stats] : options_.classifiers->Stats()) {
      metrics_.MirrorClassifier(name, "classified", stats.classified);
      metrics_.MirrorClassifier(name, "failed", stats.failed);
      metrics_.MirrorClassifier(name, "skipped", stats.skipped);
      metrics_.SetClassifierCircuitOpen(name, stats.circuit == "open");
    }
  }
  // Review queues: every declared queue (zeros included, so an emptied queue reads 0), and any
  // queue cases still sit in that the rules no longer declare.
  const auto now = SystemClock().NowMicros();
  if (auto counts = store_.Queues().CountQueues(now)) {
    std::map<std::string, QueueCounts> by_queue;
    for (const auto& q : CurrentQueues()->queues()) by_queue[q.name].queue = q.name;
    for (const auto& c : *counts) by_queue[c.queue] = c;
    for (const auto& [name, c] : by_queue) {
      const double overdue = c.oldest_due && *c.oldest_due < now ? static_cast<double>(now - *c.oldest_due) / 1e6 : 0.0;
      metrics_.SetQueue(name, c.open, c.in_review, c.escalated, c.overdue, overdue);
    }
  }
  response.body() = metrics_.Render();
  return response;
}

Response ApiService::OpenApi(ApiCall&) {
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "application/json");
  response.body() = std::string(OpenApiDocument());
  return response;
}

namespace {

// A key's roles as an array ("reviewer,legal" -> ["reviewer", "legal"]).
boost::json::array RolesJson(const std::string& roles) {
  boost::json::array out;
  for (const auto& role : SplitRoles(roles)) out.emplace_back(role);
  return out;
}

// A key as lists show it (never its secret).
boost::json::object KeyJson(const ApiKeyRecord& key) {
  boost::json::object item{{"name", key.name},       {"role", key.role},
                           {"roles", RolesJson(key.role)},
                           {"prefix", key.prefix},   {"status", key.status},
                           {"created_at", IsoTime(key.created_at)}, {"created_by", key.created_by}};
  item["approved_by"] = key.approved_by.empty() ? boost::json::value(nullptr) : boost::json::value(key.approved_by);
  item["approved_at"] = key.approved_at ? boost::json::value(IsoTime(*key.approved_at)) : nullptr;
  item["revoked_at"] = key.revoked_at ? boost::json::value(IsoTime(*key.revoked_at)) : nullptr;
  if (key.status == "pending") item["expires_at"] = IsoTime(key.created_at + kPendingKeyMicros);
  else item["expires_at"] = key.expires_at ? boost::json::value(IsoTime(*key.expires_at)) : nullptr;
  // During a rotation: until when the previous secret still works.
  item["previous_until"] = key.previous_until ? boost::json::value(IsoTime(*key.previous_until)) : nullptr;
  return item;
}

}  // namespace

Response ApiService::ListKeys(ApiCall&) {
  auto keys = store_.ListApiKeys();
  if (!keys) return ErrorResponse(keys.error());
  boost::json::array out;
  for (const auto& key : *keys) out.push_back(KeyJson(key));
  return JsonResponse(http::status::ok, boost::json::object{{"keys", std::move(out)}});
}

// A sensitive role (custodian, legal, admin) comes back pending, with no secret: a second admin
// approves it (ApproveKey) and gets the secret then.
Response ApiService::CreateKey(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"name", "role", "roles", "expires_days"}); !known) return ErrorResponse(known.error());
  const auto* name = body->if_contains("name");
  const auto* role = body->if_contains("role");
  // Several roles for one holder: "role": "reviewer,legal", or "roles": ["reviewer", "legal"].
  std::string roles_text;
  if (role != nullptr && body->contains("roles")) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "give 'role' or 'roles', not both");
  }
  if (const auto* roles = body->if_contains("roles"); roles != nullptr) {
    if (!roles->is_array() || roles->as_array().empty() || roles->as_array().size() > 16) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "'roles' is an array of 1 to 16 role names");
    }
    for (const auto& r : roles->as_array()) {
      if (!r.is_string()) return ErrorResponse(http::status::bad_request, "invalid_argument", "'roles' holds strings");
      roles_text.append(roles_text.empty() ? "" : ",").append(r.as_string());
    }
  } else if (role != nullptr && role->is_string()) {
    roles_text = std::string(role->as_string());
  }
  if (name == nullptr || !name->is_string() || roles_text.empty()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "string 'name' and 'role' (or 'roles', an array) are required");
  }
  std::optional<std::int64_t> expires_at;
  if (const auto* days = body->if_contains("expires_days"); days != nullptr && !days->is_null()) {
    if (!days->is_int64() || days->as_int64() < 1 || days->as_int64() > 3650) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "'expires_days' is 1 to 3650 (or null: never)");
    }
    expires_at = SystemClock().NowMicros() + days->as_int64() * 86'400'000'000;
  }
  auto key = store_.CreateApiKey(std::string(name->as_string()), roles_text, call.actor);
  if (!key) return ErrorResponse(key.error());
  if (expires_at) {
    if (auto set = store_.SetApiKeyExpiry(key->record.name, expires_at, call.actor); !set) return ErrorResponse(set.error());
    key->record.expires_at = expires_at;
  }
  if (key->record.status == "pending") {
    auto out = KeyJson(key->record);
    out["message"] = "a " + key->record.role + " key needs a second admin: another admin approves it with POST /v1/keys/" +
                     key->record.name + "/approve before " + IsoTime(key->record.created_at + kPendingKeyMicros);
    return JsonResponse(http::status::accepted, std::move(out));
  }
  return JsonResponse(http::status::created,
                      boost::json::object{{"name", key->record.name},
                                          {"role", key->record.role},
                                          {"roles", RolesJson(key->record.role)},
                                          {"prefix", key->record.prefix},
                                          {"status", key->record.status},
                                          {"expires_at", expires_at ? boost::json::value(IsoTime(*expires_at)) : nullptr},
                                          {"key", key->secret}});
}

// The caller rotates their own key: a new secret, shown once; the previous one works for
// `overlap_hours` more (default 24) so that the services using it move over without a gap. Nobody
// rotates someone else's key over the API (an admin would hold a legal or custodian key's secret).
Response ApiService::RotateMyKey(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"overlap_hours"}); !known) return ErrorResponse(known.error());
  if (call.key != nullptr && call.key->session_id != 0) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "this is a console session, not an API key: it has no secret to rotate");
  }
  if (call.key != nullptr && call.key->by_previous_secret) {
    return ErrorResponse(http::status::forbidden, "permission_denied",
                         "this is the previous secret of a rotated key: it works until the overlap ends, and only the "
                         "current secret rotates the key");
  }
  std::int64_t hours = 24;
  if (const auto* overlap = body->if_contains("overlap_hours"); overlap != nullptr && !overlap->is_null()) {
    if (!overlap->is_int64() || overlap->as_int64() < 0 || overlap->as_int64() > 720) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "'overlap_hours' is 0 to 720");
    }
    hours = overlap->as_int64();
  }
  auto key = store_.RotateApiKey(call.actor, hours * 3600, call.actor);
  if (!key) return ErrorResponse(key.error());
  auth_.Evict();
  return JsonResponse(http::status::ok,
                      boost::json::object{{"name", key->record.name},
                                          {"role", key->record.role},
                                          {"roles", RolesJson(key->record.role)},
                                          {"prefix", key->record.prefix},
                                          {"previous_until", key->record.previous_until
                                                                 ? boost::json::value(IsoTime(*key->record.previous_until))
                                                                 : nullptr},
                                          {"key", key->secret}});
}

// The second admin: activates a pending key and receives its secret, once.
Response ApiService::ApproveKey(ApiCall& call) {
  auto key = store_.ApproveApiKey(call.path["name"], call.actor);
  if (!key) return ErrorResponse(key.error());
  return JsonResponse(http::status::ok, boost::json::object{{"name", key->record.name},
                                                            {"role", key->record.role},
                                                            {"roles", RolesJson(key->record.role)},
                                          {"roles", RolesJson(key->record.role)},
                                                            {"prefix", key->record.prefix},
                                                            {"status", key->record.status},
                                                            {"created_by", key->record.created_by},
                                                            {"approved_by", key->record.approved_by},
                                                            {"key", key->secret}});
}

Response ApiService::RevokeKey(ApiCall& call) {
  if (auto revoked = store_.RevokeApiKey(call.path["name"], call.actor); !revoked) return ErrorResponse(revoked.error());
  auth_.Evict();
  return Response{http::status::no_content, 11};
}

Response ApiService::ListAudit(ApiCall& call) {
  auto limit = QueryInt(call.query, "limit", 100, 1, 10000);
  if (!limit) return ErrorResponse(limit.error());
  auto records = store_.ListAudit(static_cast<int>(*limit));
  if (!records) return ErrorResponse(records.error());
  // Actors who sign in through the identity provider are shown with the subject and display name
  // their name is bound to now ("person_now"; a record's own detail, and the session.start records,
  // say what held when it was written: `vigil people rebind` may have moved the name since).
  std::map<std::string, Person> people;
  if (auto listed = store_.Sessions().ListPeople()) {
    for (auto& p : *listed) people.emplace(p.name, std::move(p));
  }
  boost::json::array out;
  for (const auto& record : *records) {
    boost::json::object item{{"id", record.id},         {"at", IsoTime(record.at)},
                             {"actor", record.actor},   {"action", record.action},
                             {"target", record.target}, {"detail", record.detail}};
    if (const auto it = people.find(record.actor); it != people.end()) {
      item["person_now"] = boost::json::object{{"issuer", it->second.issuer},
                                           {"subject", it->second.subject},
                                           {"display_name", it->second.display_name}};
    }
    out.push_back(std::move(item));
  }
  return JsonResponse(http::status::ok, boost::json::object{{"audit", std::move(out)}});
}

}  // namespace vigil::server
