// Banks and entries as JSON, the same for the HTTP API (GET /v1/banks...) and the CLI (`vigil bank`),
// so that both print one shape. Thread safety: pure functions.
#pragma once

#include <boost/json.hpp>

#include "vigil/store.h"

namespace vigil {

boost::json::object BankJson(const Bank& bank);
boost::json::object EntryJson(const BankEntry& entry);

}  // namespace vigil
