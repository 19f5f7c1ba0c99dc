// Transparency reports (see include/vigil/transparency.h).
#include "vigil/transparency.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <set>
#include <unordered_map>

#include "charts/svg_chart.h"

namespace vigil {
namespace {

constexpr double kMicrosPerHour = 3'600'000'000.0;

std::string MonthOf(std::int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  return out;
}

std::string IsoMonthDay(std::int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return out;
}

std::optional<double> Median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double m = values[mid];
  if (values.size() % 2 == 0) {
    const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
    m = (m + lower) / 2;
  }
  return m;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Fixed(std::optional<double> v, int digits = 1) {
  if (!v) return "";
  char out[32];
  std::snprintf(out, sizeof out, "%.*f", digits, *v);
  return out;
}

// What is counted once per month (and once over the period) rather than added up.
struct Collect {
  std::vector<double> upload_to_action, match_to_decision;
  std::map<std::string, bool> suspended;  // user id -> permanently (a ban, or a suspension without an end)
  std::set<std::string> restricted;       // user ids
  std::map<std::string, std::set<std::string>> accounts_by_category;     // category -> user ids
  std::map<std::string, std::set<std::int64_t>> decisions_by_category;  // category -> decision ids
};

std::int64_t Count(std::size_t n) { return static_cast<std::int64_t>(n); }

void Finish(MonthFigures& m, Collect& c) {
  m.overturn_rate = m.appeals_decided > 0 ? std::optional<double>(static_cast<double>(m.appeals_overturned) /
                                                                  static_cast<double>(m.appeals_decided))
                                          : std::nullopt;
  m.median_hours_upload_to_action = Median(std::move(c.upload_to_action));
  m.median_hours_match_to_decision = Median(std::move(c.match_to_decision));
  for (const auto& [user, permanent] : c.suspended) {
    ++(permanent ? m.accounts_suspended_permanent : m.accounts_suspended_temporary);
  }
  m.accounts_restricted = Count(c.restricted.size());
  for (const auto& [category, users] : c.accounts_by_category) m.accounts_actioned_by_category[category] = Count(users.size());
  for (const auto& [category, ids] : c.decisions_by_category) m.violating_decisions_by_category[category] = Count(ids.size());
}

std::vector<std::string> Sources(const TransparencyReport& r) {
  std::vector<std::string> out;
  for (const auto& [source, n] : r.total.content_actioned_by_source) out.push_back(source);
  return out;
}

// Every category with a figure in the period (ids, sorted).
std::vector<std::string> Categories(const TransparencyReport& r) {
  std::set<std::string> ids;
  for (const auto* counts : {&r.total.content_actioned_by_category, &r.total.accounts_actioned_by_category,
                             &r.total.violating_decisions_by_category}) {
    for (const auto& [id, n] : *counts) ids.insert(id);
  }
  return {ids.begin(), ids.end()};
}

std::string Title(const TransparencyReport& r, const std::string& id) {
  auto it = r.category_titles.find(id);
  return it == r.category_titles.end() || it->second.empty() ? id : it->second;
}

std::int64_t Of(const std::map<std::string, std::int64_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

bool IsAccountAction(const std::string& kind) {
  return kind == "suspend_account" || kind == "ban_account" || kind == "restrict_account";
}

}  // namespace

Result<std::int64_t> ParseDate(const std::string& date) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || y > 9999 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    return Fail(ErrorCode::kInvalidArgument, "'" + date + "' is not a date (YYYY-MM-DD)");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  const std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != d) return Fail(ErrorCode::kInvalidArgument, "'" + date + "' is not a day of that month");
  return static_cast<std::int64_t>(t) * 1'000'000;
}

Result<TransparencyReport> BuildTransparencyReport(ReportStore& reports, std::int64_t from, std::int64_t to) {
  if (from >= to) return Fail(ErrorCode::kInvalidArgument, "the period must end after it starts");
  if (to - from > std::int64_t{3660} * 86'400'000'000) {
    return Fail(ErrorCode::kInvalidArgument, "a transparency report covers at most ten years");
  }
  auto facts = reports.TransparencyFactsBetween(from, to);
  if (!facts) return tl::unexpected(facts.error());
  TransparencyReport report;
  report.from = from;
  report.to = to;
  std::map<std::string, MonthFigures> months;
  std::map<std::string, Collect> collect;
  // Every month of the period, also the empty ones.
  for (std::int64_t t = from; MonthOf(t) <= MonthOf(to - 1); t += std::int64_t{27} * 86'400'000'000) {
    months[MonthOf(t)].month = MonthOf(t);
  }
  MonthFigures& total = report.total;
  total.month = "total";
  Collect total_collect;
  auto both = [&](const std::string& month, auto&& apply) {
    apply(months[month]);
    apply(total);
  };
  auto tally = [&](const std::string& month, auto&& apply) {
    apply(collect[month]);
    apply(total_collect);
  };
  std::unordered_map<std::string, bool> content_seen;
  for (const auto& a : facts->actions) {
    const std::string month = MonthOf(a.at);
    const std::string category = a.category.empty() ? kUncategorised : a.category;
    const bool content_action = a.kind == "block_content" || a.kind == "remove_content";
    if (a.decision_id != 0 && (content_action || IsAccountAction(a.kind))) {  // not a reversal
      tally(month, [&](Collect& c) { c.decisions_by_category[category].insert(a.decision_id); });
    }
    if (IsAccountAction(a.kind)) {
      both(month, [](MonthFigures& m) { ++m.account_actions; });
      tally(month, [&](Collect& c) {
        if (a.kind == "restrict_account") {
          c.restricted.insert(a.user_id);
        } else {
          bool& permanent = c.suspended[a.user_id];
          permanent = permanent || a.kind == "ban_account" || !a.temporary;
        }
        c.accounts_by_category[category].insert(a.user_id);
      });
    } else if (content_action && !a.content_id.empty()) {
      if (content_seen.emplace(a.content_id, true).second) {  // facts come in id order: the first action
        both(month, [&](MonthFigures& m) {
          ++m.content_actioned;
          ++m.content_actioned_by_source[a.source];
          ++m.content_actioned_by_category[category];
        });
        if (a.uploaded_at) {
          const double hours = static_cast<double>(a.at - *a.uploaded_at) / kMicrosPerHour;
          collect[month].upload_to_action.push_back(hours);
          total_collect.upload_to_action.push_back(hours);
        }
      }
    }
  }
  for (const auto& d : facts->decisions) {
    const double hours = static_cast<double>(d.decided_at - d.matched_at) / kMicrosPerHour;
    collect[MonthOf(d.decided_at)].match_to_decision.push_back(hours);
    total_collect.match_to_decision.push_back(hours);
  }
  for (auto at : facts->reports_filed) both(MonthOf(at), [](MonthFigures& m) { ++m.cybertipline_reports; });
  for (const auto& a : facts->appeals) {
    both(MonthOf(a.created_at), [](MonthFigures& m) { ++m.appeals_received; });
    if (a.decided_at && *a.decided_at < to) {
      both(MonthOf(*a.decided_at), [&](MonthFigures& m) {
        ++m.appeals_decided;
        m.appeals_overturned += a.overturned;
      });
    }
  }
  for (const auto& l : facts->legal_requests) {
    both(MonthOf(l.received_at), [](MonthFigures& m) { ++m.legal_requests_received; });
    if (l.produced_at && *l.produced_at < to) both(MonthOf(*l.produced_at), [](MonthFigures& m) { ++m.legal_requests_answered; });
  }
  for (auto& [month, figures] : months) {
    if (month < MonthOf(from) || month > MonthOf(to - 1)) continue;  // a decision after the period's end
    Finish(figures, collect[month]);
    report.months.push_back(figures);
  }
  Finish(total, total_collect);
  return report;
}

std::map<std::string, std::string> CategoryTitles(const Taxonomy& taxonomy) {
  std::map<std::string, std::string> out;
  for (const auto& c : taxonomy.categories()) out[c.id] = c.title;
  return out;
}

std::string TransparencyJson(const TransparencyReport& r) {
  namespace json = boost::json;
  auto counts = [](const std::map<std::string, std::int64_t>& by) {
    json::object o;
    for (const auto& [k, v] : by) o[k] = v;
    return o;
  };
  auto figures = [&](const MonthFigures& m) {
    json::object o{{"month", m.month},
                   {"accounts_suspended_temporary", m.accounts_suspended_temporary},
                   {"accounts_suspended_permanent", m.accounts_suspended_permanent},
                   {"accounts_restricted", m.accounts_restricted},
                   {"account_actions", m.account_actions},
                   {"content_actioned", m.content_actioned},
                   {"content_actioned_by_source", counts(m.content_actioned_by_source)},
                   {"content_actioned_by_category", counts(m.content_actioned_by_category)},
                   {"accounts_actioned_by_category", counts(m.accounts_actioned_by_category)},
                   {"violating_decisions_by_category", counts(m.violating_decisions_by_category)},
                   {"cybertipline_reports", m.cybertipline_reports},
                   {"appeals_received", m.appeals_received},
                   {"appeals_decided", m.appeals_decided},
                   {"appeals_overturned", m.appeals_overturned},
                   {"legal_requests_received", m.legal_requests_received},
                   {"legal_requests_answered", m.legal_requests_answered}};
    auto opt = [&](const char* key, std::optional<double> v) {
      if (v) o[key] = *v;
      else o[key] = nullptr;
    };
    opt("overturn_rate", m.overturn_rate);
    opt("median_hours_upload_to_action", m.median_hours_upload_to_action);
    opt("median_hours_match_to_decision", m.median_hours_match_to_decision);
    return o;
  };
  json::object titles;
  for (const auto& id : Categories(r)) titles[id] = Title(r, id);
  json::array months;
  for (const auto& m : r.months) months.push_back(figures(m));
  return json::serialize(json::object{{"from", IsoMonthDay(r.from)},
                                      {"to", IsoMonthDay(r.to)},
                                      {"platform", r.platform},
                                      {"category_titles", std::move(titles)},
                                      {"months", std::move(months)},
                                      {"total", figures(r.total)}}) +
         "\n";
}

std::string TransparencyCsv(const TransparencyReport& r) {
  const auto sources = Sources(r);
  const auto categories = Categories(r);
  std::string out =
      "month,accounts_suspended_temporary,accounts_suspended_permanent,accounts_restricted,content_actioned";
  for (const auto& s : sources) out += ",content_actioned_" + s;
  out +=
      ",cybertipline_reports,appeals_received,appeals_decided,appeals_overturned,overturn_rate,"
      "median_hours_upload_to_action,median_hours_match_to_decision,legal_requests_received,legal_requests_answered,"
      "account_actions";
  for (const auto& c : categories) {
    out += ",content_actioned_category_" + c + ",accounts_actioned_category_" + c + ",violating_decisions_category_" + c;
  }
  out += "\n";
  auto row = [&](const MonthFigures& m) {
    out += m.month + "," + std::to_string(m.accounts_suspended_temporary) + "," +
           std::to_string(m.accounts_suspended_permanent) + "," + std::to_string(m.accounts_restricted) + "," +
           std::to_string(m.content_actioned);
    for (const auto& s : sources) out += "," + std::to_string(Of(m.content_actioned_by_source, s));
    out += "," + std::to_string(m.cybertipline_reports) + "," + std::to_string(m.appeals_received) + "," +
           std::to_string(m.appeals_decided) + "," + std::to_string(m.appeals_overturned) + "," +
           Fixed(m.overturn_rate, 4) + "," + Fixed(m.median_hours_upload_to_action, 2) + "," +
           Fixed(m.median_hours_match_to_decision, 2) + "," + std::to_string(m.legal_requests_received) + "," +
           std::to_string(m.legal_requests_answered) + "," + std::to_string(m.account_actions);
    for (const auto& c : categories) {
      out += "," + std::to_string(Of(m.content_actioned_by_category, c)) + "," +
             std::to_string(Of(m.accounts_actioned_by_category, c)) + "," +
             std::to_string(Of(m.violating_decisions_by_category, c));
    }
    out += "\n";
  };
  for (const auto& m : r.months) row(m);
  row(r.total);
  return out;
}

std::string_view TransparencyStyleSheet() {
  return "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 5px;"
         "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left;white-space:nowrap}"
         ".wide{overflow-x:auto}.defs td,.defs th{text-align:left;white-space:normal}"
         ".charts{display:flex;flex-wrap:wrap;gap:12px}.kpi{display:flex;gap:16px;margin:1em 0}"
         ".kpi div{border:1px solid #ddd;border-radius:6px;padding:8px 14px}.kpi b{display:block;"
         "font-size:22px}";
}

std::string TransparencyHtml(const TransparencyReport& r) { return TransparencyHtml(r, r.platform); }

std::string TransparencyHtml(const TransparencyReport& r, const std::string& platform) {
  using charts::ColumnChart;
  using charts::Series;
  std::vector<std::string> months;
  for (const auto& m : r.months) months.push_back(m.month);
  auto series = [&](const std::string& name, auto&& value) {
    Series s{name, {}};
    for (std::size_t i = 0; i < r.months.size(); ++i) {
      s.points.emplace_back(static_cast<double>(i), static_cast<double>(value(r.months[i])));
    }
    return s;
  };
  std::vector<Series> by_source;
  for (const auto& source : Sources(r)) {
    by_source.push_back(series(source, [&](const MonthFigures& m) { return Of(m.content_actioned_by_source, source); }));
  }
  const auto categories = Categories(r);
  std::vector<Series> by_category;
  for (const auto& category : categories) {
    by_category.push_back(
        series(Title(r, category), [&](const MonthFigures& m) { return Of(m.content_actioned_by_category, category); }));
  }
  const std::string title = "Transparency report: " + (platform.empty() ? std::string("the platform") : platform);
  std::string h = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Escape(title) +
                  "</title>\n<style>" + std::string(TransparencyStyleSheet()) + "</style></head><body>\n";
  h += "<h1>" + Escape(title) + "</h1>\n<p>Period " + IsoMonthDay(r.from) + " to " + IsoMonthDay(r.to) +
       " (UTC, end exclusive). Figures come from the enforcement, review, reporting, appeal and legal-process "
       "records; accounts are counted once each (not once per action), and the period's total counts an account "
       "once even when it was acted on in several months. Field definitions follow the EU DSA transparency "
       "template and the Tech Coalition TRUST framework (see the table at the end).</p>\n";
  const auto& t = r.total;
  h += "<div class=\"kpi\"><div><b>" + std::to_string(t.content_actioned) + "</b>uploads actioned</div><div><b>" +
       std::to_string(t.accounts_suspended_temporary + t.accounts_suspended_permanent) +
       "</b>accounts suspended</div><div><b>" + std::to_string(t.cybertipline_reports) +
       "</b>CyberTipline reports</div><div><b>" + std::to_string(t.appeals_received) + "</b>appeals (" +
       (t.overturn_rate ? Fixed(*t.overturn_rate * 100) + "% overturned" : std::string("none decided")) +
       ")</div><div><b>" + Fixed(t.median_hours_upload_to_action) + " h</b>median upload to action</div><div><b>" +
       std::to_string(t.legal_requests_received) + "</b>legal requests</div></div>\n<div class=\"charts\">\n";
  h += ColumnChart({"Accounts suspended per month", "accounts"}, months,
                   {series("temporary", [](const MonthFigures& m) { return m.accounts_suspended_temporary; }),
                    series("permanent", [](const MonthFigures& m) { return m.accounts_suspended_permanent; })});
  h += ColumnChart({"Uploads actioned by detection source", "uploads"}, months, by_source);
  h += ColumnChart({"Uploads actioned by category of violation", "uploads"}, months, by_category);
  h += ColumnChart({"CyberTipline reports filed", "reports"}, months,
                   {series("reports", [](const MonthFigures& m) { return m.cybertipline_reports; })});
  h += ColumnChart({"Appeals decided", "appeals"}, months,
                   {series("upheld", [](const MonthFigures& m) { return m.appeals_decided - m.appeals_overturned; }),
                    series("overturned", [](const MonthFigures& m) { return m.appeals_overturned; })});
  h += "</div>\n<h2>By month</h2>\n<div class=\"wide\"><table><tr><th>month</th><th>accounts suspended (temporary)</th>"
       "<th>accounts suspended (permanent)</th><th>accounts restricted</th><th>account actions</th><th>uploads "
       "actioned</th><th>CyberTipline reports</th><th>appeals received</th><th>appeals overturned</th><th>overturn "
       "rate</th><th>median h upload&rarr;action</th><th>median h match&rarr;decision</th><th>legal requests "
       "received</th><th>answered</th></tr>\n";
  auto row = [&](const MonthFigures& m) {
    h += "<tr><td>" + m.month + "</td><td>" + std::to_string(m.accounts_suspended_temporary) + "</td><td>" +
         std::to_string(m.accounts_suspended_permanent) + "</td><td>" + std::to_string(m.accounts_restricted) +
         "</td><td>" + std::to_string(m.account_actions) + "</td><td>" + std::to_string(m.content_actioned) +
         "</td><td>" + std::to_string(m.cybertipline_reports) + "</td><td>" + std::to_string(m.appeals_received) +
         "</td><td>" + std::to_string(m.appeals_overturned) + "</td><td>" +
         (m.overturn_rate ? Fixed(*m.overturn_rate * 100) + "%" : "") + "</td><td>" +
         Fixed(m.median_hours_upload_to_action) + "</td><td>" + Fixed(m.median_hours_match_to_decision) +
         "</td><td>" + std::to_string(m.legal_requests_received) + "</td><td>" +
         std::to_string(m.legal_requests_answered) + "</td></tr>\n";
  };
  for (const auto& m : r.months) row(m);
  row(r.total);
  h += "</table></div>\n<h2>Uploads actioned by detection source</h2>\n<table><tr><th>source</th><th>uploads</th></tr>\n";
  for (const auto& [source, n] : t.content_actioned_by_source) {
    h += "<tr><td>" + Escape(source) + "</td><td>" + std::to_string(n) + "</td></tr>\n";
  }
  h += "</table>\n<h2>By category of violation</h2>\n<table><tr><th>category</th><th>uploads actioned</th><th>accounts "
       "actioned</th><th>violating review decisions</th></tr>\n";
  for (const auto& c : categories) {
    h += "<tr><td>" + Escape(Title(r, c)) + "</td><td>" + std::to_string(Of(t.content_actioned_by_category, c)) +
         "</td><td>" + std::to_string(Of(t.accounts_actioned_by_category, c)) + "</td><td>" +
         std::to_string(Of(t.violating_decisions_by_category, c)) + "</td></tr>\n";
  }
  h += "</table>\n";
  if (!categories.empty()) {
    h += "<h2>By category of violation and month</h2>\n<p>Each category: uploads actioned / accounts actioned / "
         "violating review decisions.</p>\n<div class=\"wide\"><table><tr><th>month</th>";
    for (const auto& c : categories) h += "<th>" + Escape(Title(r, c)) + "</th>";
    h += "</tr>\n";
    auto by_category_row = [&](const MonthFigures& m) {
      h += "<tr><td>" + m.month + "</td>";
      for (const auto& c : categories) {
        h += "<td>" + std::to_string(Of(m.content_actioned_by_category, c)) + " / " +
             std::to_string(Of(m.accounts_actioned_by_category, c)) + " / " +
             std::to_string(Of(m.violating_decisions_by_category, c)) + "</td>";
      }
      h += "</tr>\n";
    };
    for (const auto& m : r.months) by_category_row(m);
    by_category_row(t);
    h += "</table></div>\n";
  }
  h += "<h2>Definitions</h2>\n<table class=\"defs\"><tr><th>field</th><th>meaning</th><th>EU DSA template</th><th>TRUST "
       "framework</th></tr>\n";
  static const char* kDefinitions[][4] = {
      {"accounts suspended (temporary / permanent)",
       "distinct accounts suspended with an end date / without one or banned; an account with both counts once, as "
       "permanent",
       "Art. 15(1)(c), 24(1)(b): suspensions of accounts (Art. 23)", "Enforcement: account actions"},
      {"accounts restricted", "distinct accounts restricted", "Art. 15(1)(c): restrictions of accounts",
       "Enforcement: account actions"},
      {"account actions", "restrict, suspend and ban actions taken (actions, not accounts)",
       "Art. 15(1)(c): number of measures", "Enforcement: account actions"},
      {"uploads actioned", "uploads first blocked or removed in the month, each counted once",
       "Art. 15(1)(c): measures on own initiative, by type of detection", "Enforcement: content actioned"},
      {"detection source", "hash:&lt;bank&gt; for a hash match with that list; sweep for a copy of a file reviewers confirmed, found by searching past uploads; classifier; user_report (a user reported it); escalation (staff escalated it); other",
       "Art. 15(1)(c): automated means used", "Detection: method"},
      {"by category: uploads actioned", "uploads actioned, by the category of violation of their first action",
       "Art. 15(1)(c): measures by type of illegal content or terms violated", "Enforcement: content actioned by policy"},
      {"by category: accounts actioned", "distinct accounts restricted, suspended or banned in that category",
       "Art. 15(1)(c), 24(1)(b): measures by type of violation", "Enforcement: account actions by policy"},
      {"by category: violating review decisions", "reviewers' decisions that found a violation and took action",
       "Art. 15(1)(c): measures taken by people, by type of violation", "Review: decisions by policy"},
      {"CyberTipline reports", "reports filed (finished) with NCMEC", "-", "Reporting: reports to NCMEC / authorities"},
      {"appeals received / overturned", "appeals filed in the month; those decided in it and reversed",
       "Art. 15(1)(d), 24(1)(a): complaints, decisions reversed", "Appeals: volume and reinstatement"},
      {"median upload to action", "hours from upload to its first block or removal",
       "Art. 15(1)(c): median time to take action", "Enforcement: time to action"},
      {"median match to decision", "hours from a case's first match to its first human decision",
       "Art. 15(1)(b)-(c): median handling time", "Review: time to decision"},
      {"legal requests received / answered", "legal process recorded; productions made",
       "Art. 15(1)(a): orders from authorities (Art. 9, 10)", "Law enforcement: requests and responses"}};
  for (const auto& d : kDefinitions) {
    h += "<tr><td>" + std::string(d[0]) + "</td><td>" + d[1] + "</td><td>" + d[2] + "</td><td>" + d[3] +
         "</td></tr>\n";
  }
  return h + "</table>\n</body></html>\n";
}

}  // namespace vigil
