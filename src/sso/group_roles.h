// Which Vigil roles a person holds, from the groups their identity provider says they are in:
// "[sso] group_roles" lists group=roles pairs separated by ';' ("t&s-reviewers=reviewer;
// legal-team=legal,reviewer"). A person in several groups holds every role those groups give; a
// person in none of them holds none and is not signed in.
// Thread safety: a parsed mapping is immutable; functions are pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::sso {

using GroupRoles = std::vector<std::pair<std::string, std::string>>;  // group -> canonical roles

// kInvalidArgument naming the pair that is wrong (no '=', an empty group, an unknown role).
Result<GroupRoles> ParseGroupRoles(std::string_view text);
// The roles `groups` give, canonical ("reviewer,legal"); "" for none.
std::string RolesForGroups(const GroupRoles& mapping, const std::vector<std::string>& groups);

}  // namespace vigil::sso
