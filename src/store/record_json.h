// Banks and entries as JSON, the same for the HTTP API (GET /v1/banks...) and the CLI (`vigil bank`),
// so that both print one shape. Thread safety: pure functions.
#pragma once

#include <boost/json.hpp>

#include "vigil/store.h"

namespace vigil {

boost::json::object BankJson(const Bank& bank);
boost::json::object EntryJson(const BankEntry& entry);

// An upload's classifications: as the API shows them, and as stored ("" for none). Reading a stored
// text that is not such an array gives none (a row is never refused for it).
boost::json::array ClassificationsJson(const std::vector<Classification>& classifications);
std::string ClassificationsText(const std::vector<Classification>& classifications);
std::vector<Classification> ClassificationsFromText(std::string_view text);

}  // namespace vigil
