// The roles an API key may have, in one place: the store checks them, the service maps routes to
// them (api_service.cpp, Routes()) and the docs list them (`vigil docs roles`).
// Thread safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil {

// The roles an API key may have.
inline constexpr const char* kRoles[] = {"submitter", "reviewer", "bank-admin", "auditor",
                                         "admin",     "legal",    "custodian"};
bool IsKnownRole(std::string_view role);
// Roles that read evidence (custodian), approve legal filings (legal) or mint keys (admin: else one
// admin mints a second admin key and approves their own requests with it). Over the API they are
// minted in two steps by two different admins; only the host (the CLI) mints them directly.
bool IsSensitiveRole(std::string_view role);
// How long a pending key waits for its second admin.
inline constexpr std::int64_t kPendingKeyMicros = std::int64_t{24} * 3600 * 1000000;

}  // namespace vigil
