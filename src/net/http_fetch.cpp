// HTTP to services outside (see http_fetch.h).
#include "net/http_fetch.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <thread>

namespace vigil::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool Loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]"; }

class BeastFetcher final : public HttpFetcher {
 public:
  explicit BeastFetcher(FetchLimits limits) : limits_(std::move(limits)) {}

  Result<HttpReply> Send(const HttpCall& call) override {
    VIGIL_ASSIGN_OR_RETURN(auto url, ParseHttpUrl(call.url));
    if (!limits_.allowed_hosts.empty() &&
        std::find(limits_.allowed_hosts.begin(), limits_.allowed_hosts.end(), url.host) == limits_.allowed_hosts.end()) {
      return Fail(ErrorCode::kPermissionDenied, "host " + url.host + " is not on the allow-list");
    }
    // A header built from a secret or a setting must stay one header: a CR, LF or other control
    // character would start another (or another request).
    for (const auto& [name, value] : call.headers) {
      const auto bad = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
      if (name.empty() || std::any_of(name.begin(), name.end(), bad) || std::any_of(value.begin(), value.end(), bad) ||
          name.find(':') != std::string::npos) {
        return Fail(ErrorCode::kInvalidArgument, "the " + name.substr(0, 40) + " header holds a control character (refused)");
      }
    }
    const auto verb = http::string_to_verb(call.method);
    if (verb == http::verb::unknown) return Fail(ErrorCode::kInvalidArgument, "unknown HTTP method " + call.method);
    bool sent = false;
    try {
      asio::io_context io;
      http::request<http::string_body> req{verb, url.target, 11};
      // Host names the port when it is not the scheme's own (name-based hosting on another port).
      const bool default_port = url.port == (url.tls ? "443" : "80");
      const bool ipv6 = url.host.find(':') != std::string::npos;
      const std::string host = ipv6 ? "[" + url.host + "]" : url.host;
      req.set(http::field::host, default_port ? host : host + ":" + url.port);
      req.set(http::field::user_agent, "vigil/1");
      req.set(http::field::accept_encoding, "identity");
      for (const auto& [name, value] : call.headers) req.set(name, value);
      if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
      req.body() = call.body;
      req.prepare_payload();
      http::response_parser<http::string_body> parser;
      parser.body_limit(limits_.max_body_bytes);
      parser.header_limit(64 * 1024);
      beast::flat_buffer buffer;
      tcp::resolver resolver(io);
      const auto endpoints = resolver.resolve(url.host, url.port);
      if (!limits_.allow_private_addresses) {
        for (const auto& entry : endpoints) {
          if (IsInternalAddress(entry.endpoint().address().to_string())) {
            return Fail(ErrorCode::kPermissionDenied, url.host + " resolves to an internal address (" +
                                                          entry.endpoint().address().to_string() + "): not fetched");
          }
        }
      }
      // Asynchronous steps run on this thread with the stream's deadline: Beast's timeouts apply
      // to asynchronous operations only (a synchronous read would wait for ever on a server that
      // never answers). `sent` is set once the request's first byte may have left.
      beast::error_code ec;
      auto exchange = [&](auto& stream, auto& lowest, auto&& before_write) {
        lowest.expires_after(limits_.timeout);
        lowest.async_connect(endpoints, [&](beast::error_code connected, const tcp::endpoint&) {
          if (connected) {
            ec = connected;
            return;
          }
          before_write([&](beast::error_code ready) {
            if (ready) {
              ec = ready;
              return;
            }
            sent = true;
            http::async_write(stream, req, [&](beast::error_code written, std::size_t) {
              if (written) {
                ec = written;
                return;
              }
              http::async_read(stream, buffer, parser, [&](beast::error_code read, std::size_t) { ec = read; });
            });
          });
        });
        io.run();
      };
      if (url.tls) {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        ctx.set_default_verify_paths();
        ctx.set_verify_mode(asio::ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
        SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url.host.c_str()));
        stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
        exchange(stream, beast::get_lowest_layer(stream), [&](auto next) {
          stream.async_handshake(asio::ssl::stream_base::client, [next](beast::error_code shaken) { next(shaken); });
        });
      } else {
        beast::tcp_stream stream(io);
        exchange(stream, stream, [&](auto next) { next(beast::error_code{}); });
      }
      if (ec == beast::error::timeout) {
        return Fail(sent ? ErrorCode::kIoError : ErrorCode::kUnavailable,
                    (sent ? "no complete answer from " : "cannot reach ") + url.host + " within " +
                        (limits_.timeout.count() % 1000 == 0 ? std::to_string(limits_.timeout.count() / 1000) + " s"
                                                               : std::to_string(limits_.timeout.count()) + " ms"));
      }
      if (ec && !sent) return Fail(ErrorCode::kUnavailable, "cannot reach " + url.host + ": " + ec.message());
      if (ec == http::error::body_limit) {
        return Fail(ErrorCode::kTooLarge, "the answer from " + url.host + " is over " +
                                              (limits_.max_body_bytes >= (1u << 20) ? std::to_string(limits_.max_body_bytes >> 20) + " MiB"
                                                                                    : std::to_string(limits_.max_body_bytes >> 10) + " KiB"));
      }
      if (ec) return Fail(ErrorCode::kIoError, "no complete answer from " + url.host + ": " + ec.message());
      HttpReply reply;
      reply.status = parser.get().result_int();
      reply.body = std::move(parser.get().body());
      reply.content_type = std::string(parser.get()[http::field::content_type]);
      reply.retry_after = std::string(parser.get()[http::field::retry_after]);
      reply.request_id = std::string(parser.get()["Request-ID"]);
      reply.location = std::string(parser.get()[http::field::location]).substr(0, 4096);
      return reply;
    } catch (const std::exception& e) {
      return Fail(sent ? ErrorCode::kIoError : ErrorCode::kUnavailable,
                  (sent ? "no answer from " : "cannot reach ") + url.host + ": " + Reason(e));
    }
  }

 private:
  FetchLimits limits_;
};

}  // namespace

bool IsInternalAddress(const std::string& text) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(text, ec);
  if (ec) return true;  // not an address: never treated as outside
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_unspecified() || address.is_loopback() || address.is_multicast()) return true;
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    return b[0] == 10 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] >= 240;
  }
  const auto v6 = address.to_v6();
  const auto b = v6.to_bytes();
  return v6.is_link_local() || v6.is_site_local() || (b[0] & 0xfe) == 0xfc;
}

std::string Reason(const std::exception& e) {
  if (const auto* system = dynamic_cast<const boost::system::system_error*>(&e)) return system->code().message();
  return e.what();
}

Result<Url> ParseHttpUrl(const std::string& text) {
  Url url;
  std::string rest;
  if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else {
    return Fail(ErrorCode::kInvalidArgument, "a URL must start with https:// (http:// only to this host)");
  }
  const auto slash = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!url.target.empty() && url.target[0] != '/') url.target = "/" + url.target;
  if (const auto hash = url.target.find('#'); hash != std::string::npos) url.target.resize(hash);
  if (authority.find('@') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "a URL must not carry credentials (user@host)");
  }
  const auto colon = authority.rfind(':');
  const bool bracketed = !authority.empty() && authority.front() == '[';
  if (colon != std::string::npos && (!bracketed || authority.find(']') < colon)) {
    url.host = authority.substr(0, colon);
    url.port = authority.substr(colon + 1);
  } else {
    url.host = authority;
    url.port = url.tls ? "443" : "80";
  }
  if (bracketed && url.host.size() > 2 && url.host.back() == ']') url.host = url.host.substr(1, url.host.size() - 2);
  if (url.host.empty()) return Fail(ErrorCode::kInvalidArgument, "the URL has no host");
  if (url.port.empty() || url.port.size() > 5 || !std::all_of(url.port.begin(), url.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(ErrorCode::kInvalidArgument, "the URL's port is not a number");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Fail(ErrorCode::kInvalidArgument, "the URL holds a space or control character");
    }
  }
  if (!url.tls && !Loopback(url.host)) {
    return Fail(ErrorCode::kInvalidArgument, "plain http:// is allowed only to this host (a test stand-in); " + url.host +
                                                 " needs https://");
  }
  return url;
}

std::string UrlEncode(const std::string& value) {
  std::string out;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::unique_ptr<HttpFetcher> MakeBeastFetcher(FetchLimits limits) { return std::make_unique<BeastFetcher>(std::move(limits)); }

Result<HttpReply> SendWithRetry(HttpFetcher& fetcher, const HttpCall& call, const RetryPolicy& policy,
                                const std::string& service) {
  auto wait = policy.backoff;
  Error last{ErrorCode::kUnavailable, service + ": no attempt made"};
  const int attempts = std::max(1, policy.attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto reply = fetcher.Send(call);
    std::chrono::milliseconds pause = wait;
    if (!reply) {
      if (reply.error().code != ErrorCode::kUnavailable && reply.error().code != ErrorCode::kIoError) {
        return Fail(reply.error().code, service + ": " + reply.error().message);
      }
      last = {ErrorCode::kUnavailable, service + ": " + reply.error().message};
    } else if (reply->status == 401 || reply->status == 403) {
      return Fail(ErrorCode::kPermissionDenied,
                  service + " refused the credentials (HTTP " + std::to_string(reply->status) + ")");
    } else if (reply->status == 429 || reply->status >= 500) {
      last = {ErrorCode::kUnavailable, service + " answered HTTP " + std::to_string(reply->status) +
                                           (reply->status == 429 ? " (too many requests)" : "")};
      if (!reply->retry_after.empty()) {
        // Seconds, or an HTTP date (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT"), as how long from now.
        char* end = nullptr;
        long long seconds = std::strtoll(reply->retry_after.c_str(), &end, 10);
        bool valid = end != reply->retry_after.c_str() && *end == '\0' && seconds >= 0;
        if (!valid) {
          std::tm when{};
          std::istringstream text(reply->retry_after);
          text >> std::get_time(&when, "%a, %d %b %Y %H:%M:%S GMT");
          if (!text.fail()) {
            const auto at = static_cast<long long>(::timegm(&when));
            seconds = std::max<long long>(0, at - static_cast<long long>(std::time(nullptr)));
            valid = true;
          }
        }
        if (valid) {
          if (seconds > policy.max_retry_after.count()) {
            return Fail(ErrorCode::kUnavailable, service + " is throttling: it asks to wait " + std::to_string(seconds) +
                                                     " s (Retry-After), longer than " +
                                                     std::to_string(policy.max_retry_after.count()) + " s; the next run retries");
          }
          pause = std::chrono::seconds(seconds);
        }
      }
    } else {
      return reply;
    }
    if (attempt == attempts) break;
    if (policy.sleep) policy.sleep(pause);
    else std::this_thread::sleep_for(pause);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::minutes(2));
  }
  last.message += " (after " + std::to_string(attempts) + " attempts)";
  return tl::unexpected(last);
}

Result<std::string> LoadSecret(const std::string& where) {
  if (where.rfind("env:", 0) == 0) {
    const char* value = std::getenv(where.substr(4).c_str());
    if (value == nullptr || *value == '\0') {
      return Fail(ErrorCode::kNotFound, "the credentials variable " + where.substr(4) + " is not set");
    }
    return std::string(value);
  }
  if (where.rfind("file:/", 0) == 0) {
    const std::string path = where.substr(5);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return Fail(ErrorCode::kNotFound, "cannot open the credentials file " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024) {
      ::close(fd);
      return Fail(ErrorCode::kInvalidArgument, "the credentials file " + path + " is not a regular file of at most 64 KiB");
    }
    std::string secret(static_cast<std::size_t>(st.st_size), '\0');
    const auto n = ::read(fd, secret.data(), secret.size());
    ::close(fd);
    if (n != st.st_size) return Fail(ErrorCode::kIoError, "cannot read the credentials file " + path);
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  if (where.empty()) return Fail(ErrorCode::kNotFound, "the exchange has no credentials configured");
  return Fail(ErrorCode::kInvalidArgument, "credentials must be env:NAME or file:/path");
}

}  // namespace vigil::net
