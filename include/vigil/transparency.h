// Transparency reports: per calendar month (UTC) between two dates, what the platform did and how
// fast, from the records themselves (enforcement actions, decisions, reports, appeals, legal
// process), also by category of violation (the taxonomy's ids). Written as JSON, CSV or a
// self-contained HTML page with SVG charts that needs no JavaScript. docs/reporting.md maps every
// field to the EU DSA transparency template and the Tech Coalition TRUST framework.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/reports.h"
#include "vigil/status.h"
#include "vigil/taxonomy.h"

namespace vigil {

// The key of actions recorded without a category (rows from before the taxonomy).
inline constexpr const char* kUncategorised = "uncategorised";

struct MonthFigures {
  std::string month;  // "2026-03"; "total" for the whole period
  // Accounts, not actions: distinct user ids. An account suspended twice in the month (by the
  // policy, then by a reviewer) counts once, under the more severe measure (a ban or a suspension
  // without an end over one with an end). The total counts each account once over the period, so
  // it can be less than the sum of the months.
  std::int64_t accounts_suspended_temporary = 0;
  std::int64_t accounts_suspended_permanent = 0;
  std::int64_t accounts_restricted = 0;  // distinct accounts restricted (whether or not also suspended)
  std::int64_t account_actions = 0;      // actions, not accounts: every restrict, suspend and ban taken
  std::int64_t content_actioned = 0;  // uploads blocked or removed (each once)
  std::map<std::string, std::int64_t> content_actioned_by_source;  // hash:<bank>, sweep, classifier, user_report, other
  // By category of violation (the taxonomy's id, kUncategorised for actions without one):
  std::map<std::string, std::int64_t> content_actioned_by_category;  // uploads, by the category of their first action
  std::map<std::string, std::int64_t> accounts_actioned_by_category;  // distinct accounts restricted, suspended or banned
  std::map<std::string, std::int64_t> violating_decisions_by_category;  // review decisions that took action, each once
  std::int64_t cybertipline_reports = 0;
  std::int64_t appeals_received = 0;
  std::int64_t appeals_decided = 0;
  std::int64_t appeals_overturned = 0;
  std::optional<double> overturn_rate;                  // overturned / decided
  std::optional<double> median_hours_upload_to_action;  // first block or removal of an upload
  std::optional<double> median_hours_match_to_decision;  // a case's first match to its first decision
  std::int64_t legal_requests_received = 0;
  std::int64_t legal_requests_answered = 0;
};

struct TransparencyReport {
  std::int64_t from = 0, to = 0;  // microseconds; [from, to)
  // Words for people, set by the caller from the configuration; no figure depends on them.
  std::string platform;  // [reporter] platform; "": the page says "the platform"
  std::map<std::string, std::string> category_titles;  // taxonomy id -> title; an id without one shows as itself
  std::vector<MonthFigures> months;
  MonthFigures total;
};

// kInvalidArgument unless from < to and the period is at most 10 years.
Result<TransparencyReport> BuildTransparencyReport(ReportStore& reports, std::int64_t from, std::int64_t to);

// Each category's title by its id (for TransparencyReport::category_titles).
std::map<std::string, std::string> CategoryTitles(const Taxonomy& taxonomy);

std::string TransparencyJson(const TransparencyReport& report);
std::string TransparencyCsv(const TransparencyReport& report);
// The page's title names report.platform ("the platform" when empty).
std::string TransparencyHtml(const TransparencyReport& report);
// The same, naming `platform` instead ("the platform" when empty).
std::string TransparencyHtml(const TransparencyReport& report, const std::string& platform);
// The page's one style sheet (inline): a content security policy allows it by its hash.
std::string_view TransparencyStyleSheet();

// "2026-01-31" (UTC midnight) -> microseconds; kInvalidArgument otherwise.
Result<std::int64_t> ParseDate(const std::string& date);

}  // namespace vigil
