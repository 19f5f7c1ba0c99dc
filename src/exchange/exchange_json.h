// Exchanges, their status and feedback items as JSON, as the CLI prints them and the API answers
// (docs/exchanges.md; the API's schemas in docs/openapi.json). Credentials appear as where they
// are (env:NAME, file:/path), never as the secret. Thread safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <cstdint>

#include "exchange/exchange_sync.h"
#include "vigil/exchange.h"

namespace vigil::exchange {

// `now` (microseconds) gives the lag: how long since the newest record the service reported.
boost::json::object ExchangeJson(const Exchange& exchange, std::int64_t now);
boost::json::object FeedbackJson(const FeedbackItem& item);
boost::json::object SyncOutcomeJson(const SyncOutcome& outcome);
boost::json::object FeedbackOutcomeJson(const FeedbackOutcome& outcome);

// An ExchangeUpdate or a new Exchange's fields from a JSON object (the API's bodies): unknown keys
// and wrong types are refused, naming the key.
Result<ExchangeUpdate> ParseExchangeUpdate(const boost::json::object& body);
Result<Exchange> ParseNewExchange(const boost::json::object& body);

}  // namespace vigil::exchange
