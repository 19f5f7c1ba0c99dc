// The CyberTipline client (see include/vigil/cybertip_client.h).
#include "vigil/cybertip_client.h"

#include <cctype>
#include <cstdio>
#include <random>
#include <thread>

#include "net/http_fetch.h"

namespace vigil {
namespace {

constexpr const char* kUnusableUrl =
    "the CyberTipline base URL is not usable (https://HOST[:PORT]/PATH; plain http only to this host, for a "
    "test stand-in)";

// The transport over the shared HTTP layer (net/http_fetch.h): it tells "never left" (kUnavailable)
// from "sent, no answer" (kIoError), which the client's retry rules need.
class NetTransport final : public CyberTipTransport {
 public:
  NetTransport(const CyberTipConfig& config, std::string base)
      : base_(std::move(base)), authorization_("Basic " + net::Base64(config.username + ":" + config.password)) {
    net::FetchLimits limits;
    limits.max_body_bytes = 16 << 20;
    limits.timeout = config.timeout;
    fetcher_ = net::MakeBeastFetcher(limits);
  }

  Result<HttpAnswer> Post(const HttpPost& request) override { return Send("POST", request.path, request.content_type, request.body); }
  Result<HttpAnswer> Get(const std::string& path) override { return Send("GET", path, "", ""); }

 private:
  Result<HttpAnswer> Send(const char* method, const std::string& path, const std::string& type, const std::string& body) {
    net::HttpCall call;
    call.method = method;
    call.url = base_ + path;
    call.headers = {{"Authorization", authorization_}};
    call.content_type = type;
    call.body = body;
    auto reply = fetcher_->Send(call);
    if (!reply) {
      // Until the request's first byte is written nothing can have reached NCMEC: kUnavailable is
      // safe to retry; after it (no answer, or one too large to read) the outcome is unknown.
      if (reply.error().code == ErrorCode::kUnavailable) {
        return Fail(ErrorCode::kUnavailable, "CyberTipline unreachable: " + reply.error().message);
      }
      return Fail(ErrorCode::kIoError, "no answer from the CyberTipline: " + reply.error().message);
    }
    HttpAnswer answer;
    answer.status = reply->status;
    answer.body = std::move(reply->body);
    answer.request_id = std::move(reply->request_id);
    return answer;
  }

  std::string base_, authorization_;
  std::unique_ptr<net::HttpFetcher> fetcher_;
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
  // Credentials go over TLS only; plain HTTP is for a stand-in on this host (tests): ParseHttpUrl
  // refuses anything else.
  if (!net::ParseHttpUrl(config.base_url)) return nullptr;
  std::string base = config.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::make_unique<NetTransport>(config, std::move(base));
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
