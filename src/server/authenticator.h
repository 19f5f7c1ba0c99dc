// API-key authentication and per-key rate limiting for the service. Keys are looked up by their
// SHA-256 in the store; a hit is cached for a few seconds so a hot path does not query the
// database per request (a revoked key stops working within that time; the server's own revoke
// route evicts at once). Misses are never cached. Rate limits are token buckets per key, and
// store lookups for unknown keys are limited per client address (by default 10 failures a second,
// bursts of 100; `failed_auth_per_second`, `failed_auth_burst`): an address that has used up its allowance gets kResourceExhausted for any key the cache
// does not already hold, so a key-guessing sweep cannot turn into unbounded store work while keys
// that are in use keep working from the same address (a shared NAT).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vigil/store.h"

namespace vigil::server {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;       // bucket size; 0: same as per_second
};

class Authenticator {
 public:
  Authenticator(Store& store, RateLimit limit, RateLimit failure_limit,
                std::chrono::milliseconds cache_ttl = std::chrono::seconds(5))
      : store_(store), limit_(limit), failure_limit_(failure_limit), ttl_(cache_ttl) {}

  // The key for an "Authorization: Bearer ..." header value; kNotFound for unknown or revoked keys
  // and kInvalidArgument for a malformed header.
  // `remote` is the client address the failed-lookup allowance is kept for.
  Result<ApiKeyRecord> Authenticate(std::string_view authorization, const std::string& remote);
  // A person's console session (sessions.h) by the secret in its cookie, as a principal: name, roles
  // (in `role`, comma-separated), session_id, and a negative id for its own rate bucket. Not
  // cached (a sign-out or an admin's end takes effect at once); unknown secrets spend the address's
  // failure allowance like unknown keys.
  Result<ApiKeyRecord> AuthenticateSession(const std::string& secret, const std::string& remote);
  // Spends one of the address's failure allowance for work anyone may cause without a key (a
  // sign-in begun); false when it is used up.
  bool AdmitAnonymous(const std::string& remote);
  // The active key named `name` (the key a listener's callers act as: [hma] key), cached like a
  // secret's; kNotFound when there is none, or it is revoked or pending.
  Result<ApiKeyRecord> ByName(const std::string& name);
  // Takes one token from the key's bucket; false when it is empty.
  bool Admit(const ApiKeyRecord& key);
  // Forgets cached keys (after a revoke).
  void Evict();
 private:
  bool AllowAttempt(const std::string& remote);
  void CountFailure(const std::string& remote);
  struct Cached {
    ApiKeyRecord key;
    std::chrono::steady_clock::time_point expires;
  };
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  Store& store_;
  RateLimit limit_;
  RateLimit failure_limit_;  // unknown keys a client address may present
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_map<std::string, Cached> by_name_;
  std::unordered_map<std::int64_t, Bucket> buckets_;
  std::unordered_map<std::string, Bucket> failures_;  // by client address: tokens left for failures
};

}  // namespace vigil::server
