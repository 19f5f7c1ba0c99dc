// Fetching media a caller names by URL (the HMA-compatible API's ?url=): one GET through an
// HttpFetcher built with the caller-facing limits (allowed hosts, no internal addresses, size and
// time), following at most a few redirects and only to the same scheme, host and port, so an
// allowed host cannot bounce the fetch to another (a private address, a metadata service). The
// answer must be 2xx; its Content-Type is kept for the caller to pick photo or video by.
//
// Thread safety: a pure function of its arguments; the fetcher is used from this thread only.
#pragma once

#include <string>

#include "net/http_fetch.h"
#include "vigil/status.h"

namespace vigil::net {

struct FetchedMedia {
  std::string bytes;
  std::string content_type;  // as the server sent it
  int redirects = 0;         // followed
};

// kInvalidArgument: a malformed URL, an answer that is not 2xx, a redirect without a usable
// Location; kPermissionDenied: a host not allowed, an internal address, a redirect to another
// host, too many redirects; kTooLarge / kIoError / kUnavailable from the fetcher.
Result<FetchedMedia> FetchMedia(HttpFetcher& fetcher, const std::string& url, int max_redirects = 3);

}  // namespace vigil::net
