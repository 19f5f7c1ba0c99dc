// The roles (include/vigil/roles.h).
#include "vigil/roles.h"

#include <algorithm>
#include <iterator>

namespace vigil {

bool IsKnownRole(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

bool IsSensitiveRole(std::string_view role) { return role == "admin" || role == "legal" || role == "custodian"; }

}  // namespace vigil
