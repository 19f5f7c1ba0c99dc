// GET with same-origin redirects for media named by URL (see media_fetch.h).
#include "net/media_fetch.h"

namespace vigil::net {
namespace {

bool SameOrigin(const Url& a, const Url& b) {
  auto lower = [](std::string s) {
    for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return s;
  };
  return a.tls == b.tls && lower(a.host) == lower(b.host) && a.port == b.port;
}

std::string Origin(const Url& url) {
  const bool ipv6 = url.host.find(':') != std::string::npos;
  return std::string(url.tls ? "https://" : "http://") + (ipv6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
}

}  // namespace

Result<FetchedMedia> FetchMedia(HttpFetcher& fetcher, const std::string& url, int max_redirects) {
  auto parsed = ParseHttpUrl(url);
  if (!parsed) return tl::unexpected(parsed.error());
  std::string current = url;
  FetchedMedia out;
  for (;;) {
    HttpCall call;
    call.url = current;
    call.headers.emplace_back("Accept", "image/*, video/*");
    auto reply = fetcher.Send(call);
    if (!reply) return tl::unexpected(reply.error());
    if (reply->status >= 200 && reply->status < 300) {
      out.bytes = std::move(reply->body);
      out.content_type = std::move(reply->content_type);
      return out;
    }
    const bool redirect = reply->status == 301 || reply->status == 302 || reply->status == 303 ||
                          reply->status == 307 || reply->status == 308;
    if (!redirect) {
      return Fail(ErrorCode::kInvalidArgument,
                  parsed->host + " answered HTTP " + std::to_string(reply->status) + " for the media URL");
    }
    if (reply->location.empty()) {
      return Fail(ErrorCode::kInvalidArgument, parsed->host + " answered a redirect without a Location");
    }
    if (out.redirects >= max_redirects) {
      return Fail(ErrorCode::kPermissionDenied,
                  "more than " + std::to_string(max_redirects) + " redirects fetching the media URL");
    }
    // A path on the same origin (absolute, or relative to the current one's folder), or an
    // absolute URL that must be on it.
    std::string next = reply->location;
    auto current_url = ParseHttpUrl(current);
    if (next.rfind("//", 0) == 0) {
      next = (parsed->tls ? "https:" : "http:") + next;
    } else if (!next.empty() && next[0] == '/') {
      next = Origin(*parsed) + next;
    } else if (next.find("://") == std::string::npos && current_url) {
      const std::string path = current_url->target.substr(0, current_url->target.find('?'));
      next = Origin(*parsed) + path.substr(0, path.rfind('/') + 1) + next;
    }
    auto target = ParseHttpUrl(next);
    if (!target) {
      return Fail(ErrorCode::kPermissionDenied, parsed->host + " redirected to a URL that is refused: " + target.error().message);
    }
    if (!SameOrigin(*parsed, *target)) {
      return Fail(ErrorCode::kPermissionDenied, parsed->host + " redirected to another host (" + Origin(*target) +
                                                    "); redirects are followed only on the same scheme, host and port");
    }
    current = std::move(next);
    ++out.redirects;
  }
}

}  // namespace vigil::net
