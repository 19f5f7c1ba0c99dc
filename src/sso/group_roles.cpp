// Group-to-role mapping (group_roles.h).
#include "sso/group_roles.h"

#include <algorithm>

#include "vigil/roles.h"

namespace vigil::sso {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<GroupRoles> ParseGroupRoles(std::string_view text) {
  GroupRoles out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto semi = text.find(';', at);
    if (semi == std::string_view::npos) semi = text.size();
    const std::string_view pair = Trim(text.substr(at, semi - at));
    at = semi + 1;
    if (pair.empty()) continue;
    const auto eq = pair.rfind('=');
    if (eq == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "group_roles: '" + std::string(pair.substr(0, 64)) + "' is not GROUP=ROLES");
    }
    const std::string group(Trim(pair.substr(0, eq)));
    if (group.empty()) return Fail(ErrorCode::kInvalidArgument, "group_roles: a pair with no group before '='");
    auto roles = CanonicalRoles(Trim(pair.substr(eq + 1)));
    if (!roles) return Fail(ErrorCode::kInvalidArgument, "group_roles: group '" + group + "': " + roles.error().message);
    out.emplace_back(group, *roles);
  }
  return out;
}

std::string RolesForGroups(const GroupRoles& mapping, const std::vector<std::string>& groups) {
  std::string all;
  for (const auto& [group, roles] : mapping) {
    if (std::find(groups.begin(), groups.end(), group) != groups.end()) all.append(all.empty() ? "" : ",").append(roles);
  }
  if (all.empty()) return "";
  auto canonical = CanonicalRoles(all);
  return canonical ? *canonical : "";
}

}  // namespace vigil::sso
