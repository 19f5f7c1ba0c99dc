// Generates a year (or more) of benign trust & safety history through the store's own API
// (uploads matched and blocked, cases decided with account suspensions, appeals, CyberTipline
// reports, legal requests), each record at its simulated time, then times building the
// transparency report over it in JSON, CSV and HTML. Prints a table; writes the HTML for a
// screenshot.
//
//   transparency_bench --data-dir /tmp/th --months 12 --uploads 30000 --html docs/transparency.html
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/reports.h"
#include "vigil/store.h"
#include "vigil/taxonomy.h"
#include "vigil/transparency.h"

namespace {

class SimulatedClock final : public vigil::Clock {
 public:
  std::int64_t NowMicros() const override { return now; }
  std::int64_t now = 0;
};

constexpr std::int64_t kHour = 3'600'000'000;
constexpr std::int64_t kDay = 24 * kHour;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Hex(std::mt19937_64& rng, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s += kHex[rng() & 15];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate a benign history and time the transparency report over it"};
  std::string data_dir = "/tmp/vigil-transparency-bench", html_path, database_url;
  int months = 12, uploads = 30000;
  app.add_option("--data-dir", data_dir, "A new folder for the generated SQLite database");
  app.add_option("--months", months, "Months of history")->check(CLI::Range(1, 120));
  app.add_option("--uploads", uploads, "Matched uploads over the period")->check(CLI::Range(100, 10'000'000));
  app.add_option("--html", html_path, "Write the HTML report here");
  app.add_option("--database-url", database_url,
                 "PostgreSQL instead of SQLite (an empty database: the bench fills it)");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(data_dir);
  std::filesystem::create_directories(data_dir);
  SimulatedClock clock;
  vigil::StoreOptions options;
  options.sqlite_path = (std::filesystem::path(data_dir) / "vigil.db").string();
  options.postgres_url = database_url;
  options.clock = &clock;
  auto opened = vigil::Store::Open(options);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  auto& store = **opened;
  auto& cases = store.Cases();
  auto& reports = store.Reports();

  auto from = vigil::ParseDate("2025-12-01");
  const std::int64_t start = *from;
  const std::int64_t span = static_cast<std::int64_t>(months) * 30 * kDay + 5 * kDay;
  std::mt19937_64 rng(20261130);
  std::uniform_real_distribution<double> unit(0, 1);
  std::map<std::string, std::int64_t> events;
  const vigil::Taxonomy taxonomy = vigil::Taxonomy::BuiltIn();
  const auto generating = std::chrono::steady_clock::now();

  // Platform growth: more uploads later in the year, and a spike in month 7.
  std::vector<std::int64_t> times;
  for (int i = 0; i < uploads; ++i) {
    double u = std::sqrt(unit(rng));
    if (unit(rng) < 0.08) u = (6.0 + unit(rng)) / months;
    times.push_back(start + static_cast<std::int64_t>(u * static_cast<double>(span)));
  }
  std::sort(times.begin(), times.end());
  // Three banks of benign stand-in hashes, one entry each: every generated upload "matches" one.
  const char* banks[] = {"ncmec-stand-in", "industry-stand-in", "own-decisions"};
  const double bank_share[] = {0.55, 0.3, 0.15};
  std::vector<vigil::MatchRecord> bank_match;
  for (const char* name : banks) {
    vigil::Bank bank;
    bank.name = name;
    auto created = store.CreateBank(bank, "bench");
    vigil::ImportRequest import;
    import.format = "csv";
    import.actor = "bench";
    vigil::ImportOp op;
    op.signal_type = "sha256";
    op.value = Hex(rng, 64);
    import.ops.push_back(op);
    if (!created || !store.Import(name, import)) {
      std::fprintf(stderr, "cannot create bank %s\n", name);
      return 1;
    }
    auto entries = store.ListEntries(name, 0, 1, false);
    vigil::MatchRecord m;
    m.bank_id = created->id;
    m.bank_name = name;
    m.entry_id = entries->front().id;
    m.signal_type = "sha256";
    m.entry_value = op.value;
    bank_match.push_back(m);
  }
  struct Pending {
    std::int64_t case_id;
    std::int64_t due;
  };
  std::vector<Pending> to_decide;
  std::vector<std::pair<std::int64_t, std::int64_t>> to_appeal;  // action id, time
  std::uint64_t next_user = 0;
  for (int i = 0; i < uploads; ++i) {
    clock.now = times[static_cast<std::size_t>(i)];
    // Decide cases whose review time has come (a review takes 1-30 hours).
    for (std::size_t k = 0; k < to_decide.size();) {
      if (to_decide[k].due > clock.now) {
        ++k;
        continue;
      }
      const std::int64_t case_id = to_decide[k].case_id;
      to_decide[k] = to_decide.back();
      to_decide.pop_back();
      const std::int64_t saved = clock.now;
      const bool violating = unit(rng) < 0.9;
      if (!cases.ClaimCase(case_id, "reviewer-" + std::to_string(rng() % 12))) continue;
      auto claimed = cases.GetCase(case_id);
      vigil::CaseStore::DecisionRequest request;
      request.verdict = violating ? vigil::Verdict::kViolating : vigil::Verdict::kNotViolating;
      // The category the policy gave the case (a reviewer agrees with it here).
      const vigil::Category* category =
          taxonomy.Find(claimed && !claimed->category.empty() ? claimed->category : std::string("csam"));
      if (category == nullptr) category = taxonomy.Find("other");
      request.classification = violating && !category->classifications.empty() ? "B1" : "";
      if (violating) request.category = *category;
      request.reason = violating ? "matches a listed item" : "not the listed item";
      // Most confirmed accounts are banned (a ban takes a second reviewer); some suspended 30 days.
      const bool ban = violating && unit(rng) < 0.75;
      request.account_action = !violating ? vigil::AccountAction::kNone : ban ? vigil::AccountAction::kBan : vigil::AccountAction::kSuspend;
      if (violating && !ban) request.account_days = 30;
      auto decided = cases.Decide(case_id, request, claimed->assigned_to);
      if (decided && decided->status == vigil::CaseStatus::kOpen) {  // waiting for the second reviewer
        const std::string second = "senior-" + std::to_string(rng() % 4);
        if (cases.ClaimCase(case_id, second)) decided = cases.Decide(case_id, request, second);
      }
      clock.now = saved;
      if (!decided) continue;
      ++events["decisions"];
      if (!violating) continue;
      ++events["account suspensions"];
      auto actions = cases.ListActions(decided->user_id);
      if (actions && !actions->empty() && unit(rng) < 0.12) to_appeal.emplace_back(actions->back().id, clock.now);
      if (!request.category.cybertip) continue;  // only the categories reported to NCMEC (CSAM)
      // The case's report, filed a few hours later.
      vigil::CyberTipReport draft;
      draft.case_id = case_id;
      draft.user_id = decided->user_id;
      draft.report_xml = "<report/>";
      draft.created_by = "system";
      for (const auto& item : decided->items) draft.files.push_back({item.content_id, Hex(rng, 64), vigil::ReportedFileState::kPending, "", ""});
      auto created = reports.CreateReport(draft);
      if (!created) continue;
      clock.now += kHour * static_cast<std::int64_t>(1 + rng() % 6);
      created->state = vigil::ReportState::kFiled;
      created->approved_by = "legal-1";
      created->ncmec_report_id = std::to_string(900000 + created->id);
      for (auto& f : created->files) f.state = vigil::ReportedFileState::kDescribed;
      if (reports.UpdateReport(*created, "legal-1", "report.filed", "generated")) ++events["CyberTipline reports"];
      clock.now = saved;
    }
    // Appeals a few days after the action; a quarter overturned.
    for (std::size_t k = 0; k < to_appeal.size();) {
      if (to_appeal[k].second + 3 * kDay > clock.now) {
        ++k;
        continue;
      }
      const auto action_id = to_appeal[k].first;
      to_appeal[k] = to_appeal.back();
      to_appeal.pop_back();
      auto appeal = cases.FileAppeal(action_id, "I think this is a mistake", "platform");
      if (!appeal) continue;
      ++events["appeals"];
      const std::string reviewer = "reviewer-appeals-" + std::to_string(rng() % 3);
      if (!cases.ClaimAppeal(appeal->id, reviewer)) continue;
      const vigil::AppealDecision appeal_decision{unit(rng) < 0.25 ? "overturned" : "upheld", {}, "reviewed", ""};
      if (cases.DecideAppeal(appeal->id, appeal_decision, reviewer)) ++events["appeal decisions"];
    }
    // The upload: recorded, matched, blocked and held (the case opens or grows).
    vigil::ContentRecord c;
    c.content_id = "u" + std::to_string(i);
    c.user_id = "user-" + std::to_string(unit(rng) < 0.4 && next_user > 0 ? rng() % next_user : next_user++);
    c.media_type = "image/jpeg";
    c.submitted_at = clock.now;
    c.hashes = {{"sha256", Hex(rng, 64)}, {"md5", Hex(rng, 32)}, {"sha1", Hex(rng, 40)}};
    const double pick = unit(rng);
    const std::size_t bank = pick < bank_share[0] ? 0 : pick < bank_share[0] + bank_share[1] ? 1 : 2;
    if (unit(rng) < 0.05) {
      c.metadata_json = R"({"detected_by":"user_report"})";  // reported by a user, no list match
    } else {
      c.matches.push_back(bank_match[bank]);
      c.matches.back().matched_at = clock.now;
    }
    vigil::PolicyOutcome outcome;
    outcome.block = outcome.hold = outcome.queue_report = true;
    outcome.rules = {std::string("known-") + banks[bank]};
    // Mostly CSAM; some intimate images shared without consent and some terrorist content.
    const double kind = unit(rng);
    outcome.category = *taxonomy.Find(kind < 0.8 ? "csam" : kind < 0.92 ? "ncii" : "terrorist_content");
    vigil::UploadPolicy policy;
    policy.evaluate = [&outcome](const vigil::ContentFacts&) { return outcome; };
    auto recorded = cases.RecordUpload(c, policy, "system");
    if (!recorded) continue;
    ++events["uploads"];
    const std::optional<vigil::Case>& case_of_upload = recorded->opened;
    if (c.matches.empty()) continue;  // a user's report: recorded, nothing matched to act on
    ++events["content blocks"];
    if (case_of_upload && case_of_upload->items.size() == 1) {
      to_decide.push_back({case_of_upload->id, clock.now + kHour * static_cast<std::int64_t>(1 + rng() % 30)});
    }
    // Legal process: about ten a month.
    if (unit(rng) < static_cast<double>(months) * 10 / uploads && case_of_upload) {
      vigil::LegalRequest request;
      request.type = unit(rng) < 0.7 ? "subpoena" : "search_warrant";
      request.agency = "Example Agency";
      request.case_number = "G-" + std::to_string(i);
      request.received_at = clock.now;
      request.scope = "subscriber records";
      request.case_ids = {case_of_upload->id};
      request.created_by = "legal-1";
      auto created = reports.CreateLegalRequest(request);
      if (created) {
        ++events["legal requests"];
        if (unit(rng) < 0.85) {
          const std::int64_t saved = clock.now;
          clock.now += kDay * static_cast<std::int64_t>(2 + rng() % 10);
          if (reports.RecordProduction(created->id, Hex(rng, 64), "custodian-1")) ++events["legal productions"];
          clock.now = saved;
        }
      }
    }
    if (i % 5000 == 4999) std::fprintf(stderr, "\r%d/%d uploads", i + 1, uploads);
  }
  std::fprintf(stderr, "\n");
  const double generation = Seconds(generating);
  std::int64_t total_events = 0;
  for (const auto& [k, v] : events) total_events += v;

  const std::int64_t end = start + span;
  auto to = vigil::ParseDate("2026-12-01");
  const auto building = std::chrono::steady_clock::now();
  auto report = vigil::BuildTransparencyReport(reports, start, std::max(*to, end));
  const double build = Seconds(building);
  if (!report) {
    std::fprintf(stderr, "%s\n", report.error().ToString().c_str());
    return 1;
  }
  auto timed = [&](auto&& render) {
    const auto t = std::chrono::steady_clock::now();
    const std::string text = render();
    return std::pair<double, std::size_t>(Seconds(t), text.size());
  };
  report->platform = "Example Photos (generated history)";
  report->category_titles = vigil::CategoryTitles(taxonomy);
  const auto json = timed([&] { return vigil::TransparencyJson(*report); });
  const auto csv = timed([&] { return vigil::TransparencyCsv(*report); });
  const std::string html = vigil::TransparencyHtml(*report);
  const auto html_timed = timed([&] { return vigil::TransparencyHtml(*report); });
  if (!html_path.empty()) std::ofstream(html_path) << html;

  std::printf("| records written | count |\n|---|---:|\n");
  for (const auto& [k, v] : events) std::printf("| %s | %lld |\n", k.c_str(), static_cast<long long>(v));
  std::printf("| **all events** | **%lld** |\n\n", static_cast<long long>(total_events));
  std::printf("| step | seconds | output |\n|---|---:|---:|\n");
  std::printf("| generate the history (store API, %s) | %.1f | %d months |\n", database_url.empty() ? "SQLite" : "PostgreSQL",
              generation, months);
  std::printf("| read and aggregate the facts | %.3f | %zu months |\n", build, report->months.size());
  std::printf("| JSON | %.4f | %zu bytes |\n", json.first, json.second);
  std::printf("| CSV | %.4f | %zu bytes |\n", csv.first, csv.second);
  std::printf("| HTML with SVG charts | %.4f | %zu bytes |\n", html_timed.first, html_timed.second);
  std::printf("| **report total (aggregate + HTML)** | **%.3f** | |\n", build + html_timed.first);
  return 0;
}
