// A client of one hash-sharing service, as the sync and the feedback sender use it: fetch the page
// after a checkpoint, and send one review decision back. Each kind follows its provider's public
// documentation (docs/exchanges.md): NCMEC hash sharing v2, StopNCII, Meta ThreatExchange, and a
// plain list at an https URL or in a local file.
//
// A checkpoint is the client's own text, stored on the bank with the import of the page that
// produced it: fetching from it continues right after that page (or starts the next incremental
// window once a window is exhausted). "" means from the beginning.
//
// Thread safety: a client is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http_fetch.h"
#include "vigil/clock.h"
#include "vigil/exchange.h"
#include "vigil/store.h"

namespace vigil::exchange {

// The HTTP layer the clients use (net/http_fetch.h), by its names here.
using net::FetchLimits;
using net::HttpCall;
using net::HttpFetcher;
using net::HttpReply;
using net::RetryPolicy;
using net::Url;
using net::Base64;
using net::LoadSecret;
using net::MakeBeastFetcher;
using net::ParseHttpUrl;
using net::SendWithRetry;
using net::UrlEncode;

struct SyncPage {
  std::vector<ImportOp> ops;
  std::string checkpoint;  // stored with this page's import
  bool more = false;       // another page can be fetched now
  bool unchanged = false;  // nothing new since the checkpoint (nothing to import)
  // Every fetch returns the whole list: entries of the bank it does not hold are to be removed.
  bool full_list = false;
  std::int64_t fetched = 0;  // records in the page, of every type
  std::int64_t skipped = 0;  // records of types this build does not match
  std::optional<std::int64_t> newest_at;  // the newest record's time, microseconds
  std::string format;  // for the import log ("ncmec", "stopncii", ...)
};

class ExchangeClient {
 public:
  virtual ~ExchangeClient() = default;
  virtual Result<SyncPage> Fetch(const std::string& checkpoint) = 0;
  // Sends one item's verdict to the service. kUnsupported when this kind takes no feedback;
  // kInvalidArgument when the service refused it for good (an unknown entry, say); other errors
  // are worth a retry.
  virtual Status SendFeedback(const FeedbackItem& item) = 0;
  virtual bool takes_feedback() const = 0;
};

struct ClientOptions {
  const Clock* clock = nullptr;       // default: the system clock
  HttpFetcher* fetcher = nullptr;     // default: a Beast fetcher limited to the service's host
  FetchLimits limits;
  RetryPolicy retry;
  std::size_t max_records_per_page = 100'000;
  // Directories a url exchange may read a file: list from (the file's real path must lie under
  // one); empty: file lists are refused. The CLI passes "/", the service its configuration's.
  std::vector<std::string> list_roots;
};

// The hosts each kind's service runs on (NCMEC: every environment's), which an exchange may reach
// without further configuration; a plain list's host must be allowed by the operator.
std::vector<std::string> ServiceHosts(const std::string& kind);
// The host `exchange`'s settings send requests to ("" for a file list). kInvalidArgument when the
// settings do not parse or name no usable URL.
Result<std::string> ExchangeHost(const Exchange& exchange);

// Checks `exchange`'s kind and settings as a client would take them, without its credentials:
// unknown settings (a misspelt key) and values a client refuses are kInvalidArgument naming them.
Status CheckExchangeSettings(const Exchange& exchange);

// A client for `exchange` (its kind, settings and credentials). kInvalidArgument naming the
// setting that is wrong; kNotFound when its credentials are not where it says.
Result<std::unique_ptr<ExchangeClient>> MakeExchangeClient(const Exchange& exchange, const ClientOptions& options);

}  // namespace vigil::exchange
