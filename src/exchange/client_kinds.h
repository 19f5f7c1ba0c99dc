// The per-kind clients behind MakeExchangeClient (exchange_client.h), and what they share: the
// parsed settings, the secret, and a fetcher confined to the service's host.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "exchange/exchange_client.h"
#include "vigil/hash_list.h"

namespace vigil::exchange {

struct ClientSetup {
  std::string exchange;           // the exchange's name: provenance source and messages
  boost::json::object settings;
  std::string secret;             // "" when none is configured
  const Clock* clock = nullptr;
  HttpFetcher* fetcher = nullptr;  // never null here
  RetryPolicy retry;
  std::size_t max_records_per_page = 100'000;
  std::uint64_t max_body_bytes = 64ull << 20;
  std::vector<std::string> list_roots;
  bool settings_only = false;  // checking the settings: the secret is not loaded or checked
};

// Settings readers: a missing key gives the fallback; a key of the wrong type is an error naming it.
Result<std::string> TextSetting(const ClientSetup& setup, const char* key, const std::string& fallback);
Result<std::int64_t> IntSetting(const ClientSetup& setup, const char* key, std::int64_t fallback);

// NCMEC's base URL from the settings: base_url, else environment (industry, industry-test, ngo,
// ... as docs/exchanges.md lists; default industry-test).
Result<std::string> NcmecBaseUrl(const ClientSetup& setup);
Result<std::unique_ptr<ExchangeClient>> MakeNcmecClient(ClientSetup setup);
Result<std::unique_ptr<ExchangeClient>> MakeStopNciiClient(ClientSetup setup);
Result<std::unique_ptr<ExchangeClient>> MakeThreatExchangeClient(ClientSetup setup);
// One threat_updates answer into `page` (ops oldest first by last_updated, counts, newest time);
// returns its paging.next link ("" at the end). kCorrupt naming the record and what was wrong;
// kTooLarge past `max_records` records or `max_bytes`.
Result<std::string> ParseThreatUpdates(std::string_view body, const std::string& source, std::size_t max_records,
                                       std::uint64_t max_bytes, SyncPage& page);
Result<std::unique_ptr<ExchangeClient>> MakeUrlListClient(ClientSetup setup);

// The base URL a client resolves relative links against must keep them on the same origin: a
// `next` link elsewhere is refused (a service cannot send the client, and its credentials, away).
Result<std::string> SameOriginLink(const std::string& base_url, const std::string& link, const std::string& service);

// A service's answer that is not what was asked for: "SERVICE answered HTTP N: <start of the body>"
// (the body cut short and stripped of control characters: it is the service's, and untrusted).
Error UnexpectedAnswer(const std::string& service, const HttpReply& reply);
// A page in one of the record formats ("ncmec", "stopncii"), parsed under the setup's limits (body
// size, records a page); an error says the service's answer was refused and why.
Result<ParsedList> ParseServicePage(const ClientSetup& setup, const char* format, const std::string& service,
                                    const std::string& body);
// The settings' JSON checkpoint text as an object ("" -> empty object).
Result<boost::json::object> ParseCheckpoint(const std::string& checkpoint, const std::string& service);

}  // namespace vigil::exchange
