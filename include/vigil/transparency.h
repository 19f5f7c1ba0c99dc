// Transparency reports: per calendar month (UTC) between two dates, what the platform did and how
// fast, from the records themselves (enforcement actions, decisions, reports, appeals, legal
// process). Written as JSON, CSV or a self-contained HTML page with SVG charts that needs no
// JavaScript. docs/reporting.md maps every field to the EU DSA transparency template and the
// Tech Coalition TRUST framework.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/reports.h"
#include "vigil/status.h"

namespace vigil {

struct MonthFigures {
  std::string month;  // "2026-03"; "total" for the whole period
  std::int64_t accounts_suspended_temporary = 0;
  std::int64_t accounts_suspended_permanent = 0;
  std::int64_t accounts_restricted = 0;
  std::int64_t content_actioned = 0;  // uploads blocked or removed (each once)
  std::map<std::string, std::int64_t> content_actioned_by_source;  // hash:<bank>, classifier, user_report, other
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
  std::vector<MonthFigures> months;
  MonthFigures total;
};

// kInvalidArgument unless from < to and the period is at most 10 years.
Result<TransparencyReport> BuildTransparencyReport(ReportStore& reports, std::int64_t from, std::int64_t to);

std::string TransparencyJson(const TransparencyReport& report);
std::string TransparencyCsv(const TransparencyReport& report);
std::string TransparencyHtml(const TransparencyReport& report, const std::string& platform);
// The page's one style sheet (inline): a content security policy allows it by its hash.
std::string_view TransparencyStyleSheet();

// "2026-01-31" (UTC midnight) -> microseconds; kInvalidArgument otherwise.
Result<std::int64_t> ParseDate(const std::string& date);

}  // namespace vigil
