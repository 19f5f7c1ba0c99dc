// A case as the API answers it (GET /v1/cases/{id} and the routes that return a case), shared by
// the case and queue routes. Thread safety: a pure function.
#pragma once

#include <boost/json.hpp>

#include "vigil/cases.h"

namespace vigil::server {

boost::json::object CaseJson(const Case& c);

}  // namespace vigil::server
