// Bearer-key authentication with a short positive cache, and token-bucket rate limits.
#include "server/authenticator.h"

#include <algorithm>

#include "vigil/clock.h"
#include "vigil/sessions.h"

namespace vigil::server {

Result<ApiKeyRecord> Authenticator::Authenticate(std::string_view authorization, const std::string& remote) {
  static constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) return Fail(ErrorCode::kInvalidArgument, "missing Authorization: Bearer <key> header");
  // The scheme name is case-insensitive (RFC 9110 11.1): "bearer" and "BEARER" are "Bearer".
  const auto scheme_is_bearer = [&] {
    for (std::size_t i = 0; i < kBearer.size(); ++i) {
      const char c = authorization[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) !=
          (kBearer[i] >= 'A' && kBearer[i] <= 'Z' ? static_cast<char>(kBearer[i] - 'A' + 'a') : kBearer[i])) {
        return false;
      }
    }
    return true;
  };
  if (authorization.size() <= kBearer.size() || authorization.size() > 256 || !scheme_is_bearer()) {
    return Fail(ErrorCode::kInvalidArgument, "Authorization header must be 'Bearer <key>'");
  }
  const std::string secret(authorization.substr(kBearer.size()));
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(secret); it != cache_.end()) {
      if (it->second.expires > now) return it->second.key;
      cache_.erase(it);
    }
  }
  if (!AllowAttempt(remote)) {
    return Fail(ErrorCode::kResourceExhausted, "too many failed authentications from this address");
  }
  auto key = store_.Authenticate(secret);
  if (!key) {
    if (key.error().code == ErrorCode::kNotFound) CountFailure(remote);  // an unknown key: a store lookup spent
    return key;
  }
  std::lock_guard lock(mu_);
  if (cache_.size() > 10'000) cache_.clear();
  cache_[secret] = {*key, now + ttl_};
  return key;
}

Result<ApiKeyRecord> Authenticator::AuthenticateSession(const std::string& secret, const std::string& remote) {
  if (secret.empty() || secret.size() > 128) return Fail(ErrorCode::kNotFound, "no such session");
  if (!AllowAttempt(remote)) {
    return Fail(ErrorCode::kResourceExhausted, "too many failed authentications from this address");
  }
  auto session = store_.Sessions().TouchSession(secret, SystemClock().NowMicros());
  if (!session) {
    if (session.error().code == ErrorCode::kNotFound) CountFailure(remote);
    return tl::unexpected(session.error());
  }
  ApiKeyRecord principal;
  principal.id = -session->id;
  principal.name = session->name;
  principal.role = session->roles;
  principal.created_at = session->created_at;
  principal.status = "active";
  principal.created_by = "sso:" + session->issuer;
  principal.session_id = session->id;
  return principal;
}

bool Authenticator::AdmitAnonymous(const std::string& remote) {
  if (!AllowAttempt(remote)) return false;
  CountFailure(remote);
  return true;
}

Result<ApiKeyRecord> Authenticator::ByName(const std::string& name) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = by_name_.find(name); it != by_name_.end() && it->second.expires > now) return it->second.key;
  }
  auto keys = store_.ListApiKeys();
  if (!keys) return tl::unexpected(keys.error());
  const auto it = std::find_if(keys->begin(), keys->end(), [&](const ApiKeyRecord& k) {
    return k.name == name && !k.revoked_at && k.status == "active";
  });
  if (it == keys->end()) return Fail(ErrorCode::kNotFound, "no active key named '" + name + "'");
  std::lock_guard lock(mu_);
  by_name_[name] = {*it, now + ttl_};
  return *it;
}

bool Authenticator::Admit(const ApiKeyRecord& key) {
  if (limit_.per_second <= 0) return true;
  const double burst = limit_.burst > 0 ? limit_.burst : limit_.per_second;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(key.id, Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * limit_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

bool Authenticator::AllowAttempt(const std::string& remote) {
  if (failure_limit_.per_second <= 0) return true;
  const double burst = failure_limit_.burst > 0 ? failure_limit_.burst : failure_limit_.per_second;
  std::lock_guard lock(mu_);
  const auto it = failures_.find(remote);
  if (it == failures_.end()) return true;
  const auto now = std::chrono::steady_clock::now();
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * failure_limit_.per_second);
  bucket.updated = now;
  return bucket.tokens >= 1;
}

void Authenticator::CountFailure(const std::string& remote) {
  if (failure_limit_.per_second <= 0) return;
  const double burst = failure_limit_.burst > 0 ? failure_limit_.burst : failure_limit_.per_second;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (failures_.size() > 100'000) failures_.clear();  // bounded: an address flood forgets, never grows
  auto [it, inserted] = failures_.try_emplace(remote, Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * failure_limit_.per_second);
    bucket.updated = now;
  }
  bucket.tokens = std::max(0.0, bucket.tokens - 1);
}

void Authenticator::Evict() {
  std::lock_guard lock(mu_);
  cache_.clear();
  by_name_.clear();
}

}  // namespace vigil::server
