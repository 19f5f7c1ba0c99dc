// The CyberTipline client (see include/vigil/cybertip_client.h).
#include "vigil/cybertip_client.h"

#include <openssl/evp.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdio>
#include <random>
#include <thread>

namespace vigil {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

constexpr const char* kUnusableUrl =
    "the CyberTipline base URL is not usable (https://HOST[:PORT]/PATH; plain http only to this host, for a "
    "test stand-in)";

struct Url {
  bool tls = false;
  std::string host, port, prefix;
};

Result<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Fail(ErrorCode::kInvalidArgument, "the CyberTipline base URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  u.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  const auto colon = authority.rfind(':');
  u.host = colon == std::string::npos ? authority : authority.substr(0, colon);
  u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : authority.substr(colon + 1);
  if (u.host.empty()) return Fail(ErrorCode::kInvalidArgument, "the CyberTipline base URL has no host");
  return u;
}

class BeastTransport final : public CyberTipTransport {
 public:
  BeastTransport(CyberTipConfig config, Url url) : config_(std::move(config)), url_(std::move(url)) {
    authorization_ = "Basic " + Base64(config_.username + ":" + config_.password);
  }

  Result<HttpAnswer> Post(const HttpPost& request) override { return Send(http::verb::post, request.path, request.content_type, request.body); }
  Result<HttpAnswer> Get(const std::string& path) override { return Send(http::verb::get, path, "", ""); }

 private:
  Result<HttpAnswer> Send(http::verb verb, const std::string& path, const std::string& type, const std::string& body) {
    try {
      asio::io_context io;
      http::request<http::string_body> req{verb, url_.prefix + path, 11};
      req.set(http::field::host, url_.host);
      req.set(http::field::authorization, authorization_);
      req.set(http::field::user_agent, "vigil-cybertip/1");
      if (!type.empty()) req.set(http::field::content_type, type);
      req.body() = body;
      req.prepare_payload();
      http::response_parser<http::string_body> parser;
      parser.body_limit(16 << 20);
      beast::flat_buffer buffer;
      tcp::resolver resolver(io);
      // Until the request's first byte is written nothing can have reached NCMEC: failures up to
      // there are kUnavailable (safe to retry); after it the outcome is unknown (kIoError).
      bool sent = false;
      try {
        const auto endpoints = resolver.resolve(url_.host, url_.port);
        if (url_.tls) {
          asio::ssl::context ctx(asio::ssl::context::tls_client);
          ctx.set_default_verify_paths();
          ctx.set_verify_mode(asio::ssl::verify_peer);
          beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
          SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(url_.host.c_str()));
          stream.set_verify_callback(asio::ssl::host_name_verification(url_.host));
          beast::get_lowest_layer(stream).expires_after(config_.timeout);
          beast::get_lowest_layer(stream).connect(endpoints);
          stream.handshake(asio::ssl::stream_base::client);
          sent = true;
          http::write(stream, req);
          http::read(stream, buffer, parser);
        } else {
          beast::tcp_stream stream(io);
          stream.expires_after(config_.timeout);
          stream.connect(endpoints);
          sent = true;
          http::write(stream, req);
          http::read(stream, buffer, parser);
        }
      } catch (const std::exception& e) {
        if (sent) return Fail(ErrorCode::kIoError, "no answer from the CyberTipline: " + Reason(e));
        throw;
      }
      HttpAnswer answer;
      answer.status = parser.get().result_int();
      answer.body = parser.get().body();
      answer.request_id = std::string(parser.get()["Request-ID"]);
      return answer;
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kUnavailable, "CyberTipline unreachable: " + Reason(e));
    }
  }

  // What went wrong, for people: Boost's system_error::what() appends the source file and line of
  // the library code that threw ("[asio.misc:2 at /usr/include/boost/...]"), which is noise to an
  // operator and detail an attacker should not learn; the error code's message is the reason.
  static std::string Reason(const std::exception& e) {
    if (const auto* system = dynamic_cast<const boost::system::system_error*>(&e)) return system->code().message();
    return e.what();
  }

  CyberTipConfig config_;
  Url url_;
  std::string authorization_;
};

std::string FormField(const std::string& name, const std::string& value) {
  std::string out;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += static_cast<char>(c);
    else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return name + "=" + out;
}

}  // namespace

std::unique_ptr<CyberTipTransport> MakeHttpTransport(const CyberTipConfig& config) {
  auto url = ParseUrl(config.base_url);
  if (!url) return nullptr;
  // Credentials go over TLS only; plain HTTP is for a stand-in on this host (tests).
  if (!url->tls && url->host != "127.0.0.1" && url->host != "localhost" && url->host != "::1") return nullptr;
  return std::make_unique<BeastTransport>(config, *url);
}

CyberTipClient::CyberTipClient(CyberTipConfig config, std::unique_ptr<CyberTipTransport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {}

bool CyberTipClient::Transient(int code) { return code == 1000 || code == 1100 || code == 1110 || code == 1111 || code == 1300; }

Result<CyberTipResponse> CyberTipClient::Call(const HttpPost& request, bool idempotent) {
  // Without an account nothing is sent anywhere (not even to NCMEC's test environment, the
  // default base URL).
  if (config_.username.empty()) {
    return Fail(ErrorCode::kUnavailable,
                "the CyberTipline is not configured: set [cybertip] username and password_env (docs/reporting.md)");
  }
  if (!transport_) return Fail(ErrorCode::kInvalidArgument, kUnusableUrl);
  auto wait = config_.backoff;
  Error last{ErrorCode::kUnavailable, "no attempt made"};
  for (int attempt = 1; attempt <= std::max(1, config_.attempts); ++attempt) {
    auto answer = request.content_type.empty() ? transport_->Get(request.path) : transport_->Post(request);
    bool retry = false;
    if (!answer) {
      last = answer.error();
      retry = answer.error().code == ErrorCode::kUnavailable || (idempotent && answer.error().code == ErrorCode::kIoError);
    } else if (answer->status == 401) {
      return Fail(ErrorCode::kPermissionDenied, "the CyberTipline refused the credentials (HTTP 401)");
    } else {
      auto parsed = ParseCyberTipResponse(answer->body);
      if (!parsed) {
        // A server error without NCMEC's answer: it may or may not have acted on the request.
        last = {answer->status >= 500 ? ErrorCode::kIoError : ErrorCode::kCorrupt,
                "HTTP " + std::to_string(answer->status) + ": " + parsed.error().message};
        retry = answer->status >= 500 && idempotent;
        if (answer->status < 500) return tl::unexpected(last);
      } else {
        parsed->http_status = answer->status;
        parsed->request_id = answer->request_id;
        if (parsed->code == 0 || !Transient(parsed->code)) return parsed;  // success, or a final refusal
        last = {ErrorCode::kUnavailable, "response code " + std::to_string(parsed->code) + " " + parsed->description};
        retry = true;
      }
    }
    if (!retry || attempt == config_.attempts) break;
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(30));
  }
  return tl::unexpected(last);
}

Result<CyberTipResponse> CyberTipClient::Status() { return Call({"/status", "", ""}, true); }

Result<std::string> CyberTipClient::DownloadSchema() {
  if (config_.username.empty()) {
    return Fail(ErrorCode::kUnavailable,
                "the CyberTipline is not configured: set [cybertip] username and password_env (docs/reporting.md)");
  }
  if (!transport_) return Fail(ErrorCode::kInvalidArgument, kUnusableUrl);
  auto wait = config_.backoff;
  Error last{ErrorCode::kUnavailable, "no attempt made"};
  for (int attempt = 1; attempt <= std::max(1, config_.attempts); ++attempt) {
    auto answer = transport_->Get("/xsd");
    if (answer && answer->status == 401) {
      return Fail(ErrorCode::kPermissionDenied, "the CyberTipline refused the credentials (HTTP 401)");
    }
    if (answer && answer->status == 200) {
      if (answer->body.size() > (8u << 20)) return Fail(ErrorCode::kTooLarge, "the schema is over 8 MiB");
      return std::move(answer->body);
    }
    last = answer ? Error{ErrorCode::kUnavailable, "HTTP " + std::to_string(answer->status)} : answer.error();
    if (attempt == config_.attempts) break;
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(30));
  }
  return tl::unexpected(last);
}

Result<CyberTipResponse> CyberTipClient::Submit(const std::string& report_xml) {
  return Call({"/submit", "text/xml; charset=utf-8", report_xml}, false);
}

Result<CyberTipResponse> CyberTipClient::Upload(const std::string& report_id, const std::string& file_name,
                                                 const std::string& bytes) {
  std::random_device random;
  const std::string boundary = "vigil-" + std::to_string(random()) + std::to_string(random());
  std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n" + report_id + "\r\n--" +
                     boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file_name +
                     "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  body += bytes;
  body += "\r\n--" + boundary + "--\r\n";
  return Call({"/upload", "multipart/form-data; boundary=" + boundary, body}, false);
}

Result<CyberTipResponse> CyberTipClient::FileInfo(const std::string& file_details_xml) {
  return Call({"/fileinfo", "text/xml; charset=utf-8", file_details_xml}, true);
}

Result<CyberTipResponse> CyberTipClient::Finish(const std::string& report_id) {
  return Call({"/finish", "application/x-www-form-urlencoded", FormField("id", report_id)}, true);
}

Result<CyberTipResponse> CyberTipClient::Retract(const std::string& report_id) {
  return Call({"/retract", "application/x-www-form-urlencoded", FormField("id", report_id)}, true);
}

}  // namespace vigil
