// HTTP to services outside (the exchange clients, the CyberTipline client): one request at a time
// over Boost.Beast (TLS with OpenSSL, the
// peer's certificate and name verified), with the limits an answer from outside needs (body size,
// a deadline for the whole exchange of bytes), no redirects followed (a 3xx is an answer like any
// other, which the clients refuse), plain http only to this host (a test stand-in), and hosts
// limited to an allow-list. Retries with backoff on connection failures, 5xx and 429, honouring
// Retry-After up to a cap. The fetcher is an interface so tests can count or fail requests.
//
// Thread safety: a fetcher may be used from one thread at a time; SendWithRetry is reentrant.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::net {

struct HttpCall {
  std::string method = "GET";
  std::string url;  // absolute: https://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;
};

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, as sent
  std::string request_id;   // the Request-ID header (NCMEC's, for correspondence), as sent
  std::string location;     // the Location header (a redirect's target), at most 4 KiB
};

struct Url {
  bool tls = false;
  std::string host, port;
  std::string target;  // path and query, starting with '/'
};

// https://HOST[:PORT]/PATH?QUERY, or http:// to 127.0.0.1, ::1 or localhost only. kInvalidArgument
// naming what was wrong (the URL is not echoed past its host: it may carry a token).
Result<Url> ParseHttpUrl(const std::string& url);
// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string UrlEncode(const std::string& value);
std::string Base64(const std::string& bytes);
// What went wrong in a library call, for people: a Boost system error's message without the
// library's source location (noise to an operator, detail an attacker should not learn).
std::string Reason(const std::exception& e);

struct FetchLimits {
  std::uint64_t max_body_bytes = 64ull << 20;
  std::chrono::milliseconds timeout{120'000};  // the whole exchange (seconds convert)
  // Hosts a request may go to; empty: any (the clients always name their service's host).
  std::vector<std::string> allowed_hosts;
  // Whether the host may resolve to a loopback, private (RFC 1918, fc00::/7), link-local or
  // unspecified address. Off for fetches on a caller's behalf (a URL a client names), where a name
  // on the allow-list could still resolve inside; every address the name resolves to is checked.
  bool allow_private_addresses = true;
};

// Whether `address` is loopback, private, link-local, carrier-grade NAT, multicast or unspecified.
bool IsInternalAddress(const std::string& address);

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // kUnavailable: no connection (nothing was sent); kIoError: sent, no complete answer;
  // kTooLarge: the answer's body is over the limit; kPermissionDenied: a host not allowed.
  virtual Result<HttpReply> Send(const HttpCall& call) = 0;
};

std::unique_ptr<HttpFetcher> MakeBeastFetcher(FetchLimits limits);

struct RetryPolicy {
  int attempts = 5;
  std::chrono::milliseconds backoff{1000};         // doubled after each failed attempt
  std::chrono::seconds max_retry_after{120};       // a longer Retry-After fails the call instead
  std::function<void(std::chrono::milliseconds)> sleep;  // default: this thread sleeps
};

// Sends `call`, retrying connection failures, undelivered answers, HTTP 5xx and 429 (after
// Retry-After when given). Returns the first other answer (2xx, or a 4xx for the caller to read),
// or an error naming `service` and what happened: kPermissionDenied for 401/403 ("refused the
// credentials"), kUnavailable when throttled or failing past the attempts.
Result<HttpReply> SendWithRetry(HttpFetcher& fetcher, const HttpCall& call, const RetryPolicy& policy,
                                const std::string& service);

// A secret from where an exchange's credentials say it is: "env:NAME" or "file:/path" (a regular
// file, at most 64 KiB, trailing newline dropped). Errors name the place, never the content.
Result<std::string> LoadSecret(const std::string& where);

}  // namespace vigil::net
