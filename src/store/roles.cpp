// The roles (include/vigil/roles.h).
#include "vigil/roles.h"

#include <algorithm>
#include <iterator>

#include "util/split_list.h"

namespace vigil {

bool IsKnownRole(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

bool IsSensitiveRole(std::string_view role) { return role == "admin" || role == "legal" || role == "custodian"; }

std::vector<std::string> SplitRoles(std::string_view roles) { return SplitList(roles); }

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
