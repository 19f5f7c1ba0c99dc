// Fail points: named places in multi-step work (filing a report) where a test can make the process
// die, to prove that what was persisted before is enough to finish the work correctly after a
// restart (the technique of FreeBSD's fail(9) and etcd's gofail).
//
// VIGIL_FAILPOINTS="report.before_finish=exit,report.after_upload=exit:2" makes the process _exit
// (no destructors, no flushing: like kill -9) the 1st (or the N-th) time it reaches that point.
// Unset in production; parsed once.
#pragma once

#include <string_view>

namespace vigil {

void FailPoint(std::string_view name);

}  // namespace vigil
