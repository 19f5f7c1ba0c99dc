// The roles (include/vigil/roles.h).
#include "vigil/roles.h"

#include <algorithm>
#include <iterator>

namespace vigil {

bool IsKnownRole(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

bool IsSensitiveRole(std::string_view role) { return role == "admin" || role == "legal" || role == "custodian"; }

std::vector<std::string> SplitRoles(std::string_view roles) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= roles.size()) {
    auto comma = roles.find(',', at);
    if (comma == std::string_view::npos) comma = roles.size();
    std::string_view role = roles.substr(at, comma - at);
    while (!role.empty() && role.front() == ' ') role.remove_prefix(1);
    while (!role.empty() && role.back() == ' ') role.remove_suffix(1);
    if (!role.empty()) out.emplace_back(role);
    at = comma + 1;
  }
  return out;
}

Result<std::string> CanonicalRoles(std::string_view roles) {
  const auto given = SplitRoles(roles);
  std::string known;  // appended piece by piece: GCC 12 misreads a + chain (-Wrestrict)
  for (const char* r : kRoles) known.append(known.empty() ? "" : ", ").append(r);
  if (given.empty()) return Fail(ErrorCode::kInvalidArgument, "no role given (roles: " + known + ")");
  for (const auto& role : given) {
    if (!IsKnownRole(role)) {
      std::string message = "unknown role '";
      message.append(role).append("' (roles: ").append(known).append(")");
      return Fail(ErrorCode::kInvalidArgument, message);
    }
  }
  std::string out;
  for (const char* role : kRoles) {
    if (std::find(given.begin(), given.end(), role) != given.end()) out.append(out.empty() ? "" : ",").append(role);
  }
  return out;
}

bool HoldsRole(std::string_view roles, std::string_view role) {
  const auto held = SplitRoles(roles);
  return std::find(held.begin(), held.end(), role) != held.end();
}

bool HoldsSensitiveRole(std::string_view roles) {
  const auto held = SplitRoles(roles);
  return std::any_of(held.begin(), held.end(), [](const std::string& r) { return IsSensitiveRole(r); });
}

}  // namespace vigil
