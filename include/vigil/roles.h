// The roles an API key or a person's session may have, in one place: the store checks them, the
// service maps routes to them (api_service.cpp, Routes()) and the docs list them (`vigil docs
// roles`). A key may hold several roles (a lawyer who also reviews): they are kept as one
// comma-separated list in kRoles' order ("reviewer,legal"). Each request acts in one of them: the
// first of the route's roles the caller holds, or the one it names in X-Vigil-Role.
// Thread safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

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

// "legal, reviewer" or "reviewer,legal,reviewer" -> "reviewer,legal": known roles only, each once,
// in kRoles' order. kInvalidArgument naming an unknown role, or for an empty list.
Result<std::string> CanonicalRoles(std::string_view roles);
// The roles of a list as kept ("reviewer,legal" -> {"reviewer", "legal"}).
std::vector<std::string> SplitRoles(std::string_view roles);
// Whether the list holds `role`.
bool HoldsRole(std::string_view roles, std::string_view role);
// Whether any role of the list is sensitive.
bool HoldsSensitiveRole(std::string_view roles);

}  // namespace vigil
