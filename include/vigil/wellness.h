// Reviewer wellness set by the organisation and enforced by the server: how many media a reviewer
// may reveal unblurred before a break, how long a break lasts, and what each reviewer was exposed to.
//
// The effective reveal limit is the lowest of the organisation's ([wellness] reveal_limit in the
// server's configuration), the one a manager set for the reviewer, and the one the reviewer chose;
// a manager may only lower the organisation's, a reviewer only lower what applies to them. Each
// reveal of an original is admitted by the store first: during a break, or once the limit is
// reached (which starts a break at once), the original is refused. A break ends no sooner than
// `break_minutes` after it started; then the count starts again. Exposure: each reveal counts from
// when it was revealed until the reviewer's screen covered it again (re-blurred, a break, leaving
// the case), at most `exposure_cap_minutes`.
//
// Thread safety: implementations are safe to call from many threads and replicas at once; one
// reviewer's reveals are admitted one at a time, so the limit holds under concurrent requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

// The organisation's settings.
struct WellnessPolicy {
  int reveal_limit = 20;          // 1-500: reveals before a break
  int break_minutes = 10;         // 1-240
  int exposure_cap_minutes = 10;  // 1-240: a reveal never covered counts this long at most
};

// Where a reviewer stands now.
struct WellnessState {
  std::string reviewer;
  int org_limit = 0;
  std::optional<int> manager_limit, own_limit;
  int limit = 0;                     // the lowest of the three
  std::int64_t reveals = 0;          // since the last break ended
  std::int64_t break_until = 0;      // microseconds; later than now: on a break
  std::int64_t break_started = 0;
  int break_minutes = 0;
};

// One reviewer's exposure over a period.
struct ExposureFigures {
  std::string reviewer;
  std::int64_t reveals = 0;
  std::int64_t cases = 0;             // distinct cases they revealed media of
  std::int64_t exposure_seconds = 0;  // time with revealed media on screen (see above)
  std::int64_t breaks = 0, forced_breaks = 0;
  std::int64_t days_with_reveals = 0;
};

class WellnessStore {
 public:
  virtual ~WellnessStore() = default;
  virtual Result<WellnessState> GetWellness(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) = 0;
  // A manager's limit for a reviewer (nullopt: none); above the organisation's: kInvalidArgument.
  // Audited.
  virtual Result<WellnessState> SetManagerLimit(const std::string& reviewer, std::optional<int> limit,
                                                const std::string& actor, const WellnessPolicy& policy, std::int64_t now) = 0;
  // The reviewer's own limit (nullopt: none); above the organisation's or their manager's:
  // kInvalidArgument (a reviewer may lower, never raise).
  virtual Result<WellnessState> SetOwnLimit(const std::string& reviewer, std::optional<int> limit,
                                            const WellnessPolicy& policy, std::int64_t now) = 0;
  // Admits one reveal: counted, or kResourceExhausted naming when the break ends (on a break, or
  // the limit reached: a break starts now). Undo it with RefundReveal when the reveal does not
  // happen after all (the case is not the reviewer's to view, say).
  virtual Result<WellnessState> AdmitReveal(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) = 0;
  virtual Status RefundReveal(const std::string& reviewer) = 0;
  // A break the reviewer takes (covers their revealed media); on a break already: that one.
  virtual Result<WellnessState> StartBreak(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) = 0;
  // The reviewer's screen covered their revealed media again (re-blurred, left the case).
  virtual Status CoverReveals(const std::string& reviewer, std::int64_t now) = 0;
  // Per reviewer who revealed media in [from, to) or took a break then, by name.
  virtual Result<std::vector<ExposureFigures>> Exposure(std::int64_t from, std::int64_t to, const WellnessPolicy& policy,
                                                        std::int64_t now) = 0;
};

}  // namespace vigil
