// `vigil report` (CyberTipline reports: draft, approve, file, resume, retract, list; transparency
// reports), `vigil evidence` (the vault: list, read, verify, hold, purge, rotate-key) and `vigil legal`
// (legal process: record, list, export a signed package, verify one, signing keys). They work on
// the store directly, with the service's configuration file for the reporter, the CyberTipline
// and where the secrets are. A person's acts (approving or withdrawing a report, reading or holding
// evidence, recording legal process, producing it) take that person's own Vigil API key
// (--api-key-file or VIGIL_API_KEY) and are audited under its name; `--as` alone is no proof and is
// refused. Everything else runs as the operator, audited as "operator:OS_USER".
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "server/cybertip_standin.h"
#include "cli/progress.h"
#include "cli/store_options.h"
#include "server/reporting_services.h"
#include "server/server_config.h"
#include "vigil/audit_anchor.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/file_hasher.h"
#include "vigil/legal_package.h"
#include "vigil/policy.h"
#include "vigil/reports.h"
#include "vigil/transparency.h"

namespace vigil::cli {
namespace {

namespace json = boost::json;

struct ReportArgs {
  StoreFlags store;
  std::string config;
  std::string as;            // cross-checks the key's name; never proof on its own
  std::string api_key_file;  // the acting person's Vigil API key
  std::string state, format = "html", out, from, to, platform, reason, until, type, agency, case_number, received,
      due, scope, public_key, dir;
  std::vector<std::int64_t> cases;
  std::int64_t id = 0;
  int grace_seconds = 600;
  std::string new_key_env, new_key_file;
  std::string listen = "127.0.0.1:8790", user = "esp", password_env = "VIGIL_STANDIN_PASSWORD", xsd_path;
  bool json = false;
  bool xml_only = false;
};

json::object ReportJson(const CyberTipReport& r) {
  json::array files;
  for (const auto& f : r.files) {
    files.push_back(json::object{{"content_id", f.content_id},
                                 {"state", ReportedFileStateName(f.state)},
                                 {"ncmec_file_id", f.ncmec_file_id}});
  }
  json::object o{{"id", r.id},
                 {"case_id", r.case_id},
                 {"user_id", r.user_id},
                 {"state", ReportStateName(r.state)},
                 {"in_flight", InFlightStepName(r.in_flight)},
                 {"ncmec_report_id", r.ncmec_report_id},
                 {"approved_by", r.approved_by},
                 {"attempts", r.attempts},
                 {"last_code", r.last_code},
                 {"last_error", r.last_error},
                 {"withdraw_reason", r.withdraw_reason},
                 {"files", std::move(files)}};
  if (r.filed_at) o["filed_at"] = IsoDateTime(*r.filed_at);
  return o;
}

json::object EvidenceJson(const EvidenceItem& e) {
  json::object o{{"id", e.id},         {"kind", e.kind},         {"media_type", e.media_type},
                 {"size", e.size},     {"sha256", e.address},    {"case_id", e.case_id},
                 {"report_id", e.report_id}, {"content_id", e.content_id},
                 {"preserved_at", IsoDateTime(e.preserved_at)}, {"hold_until", IsoDateTime(e.hold_until)}};
  if (e.purged_at) o["purged_at"] = IsoDateTime(*e.purged_at);
  return o;
}

json::object LegalJson(const LegalRequest& l) {
  json::array cases;
  for (auto c : l.case_ids) cases.emplace_back(c);
  json::object o{{"id", l.id},
                 {"type", l.type},
                 {"agency", l.agency},
                 {"case_number", l.case_number},
                 {"received_at", IsoDateTime(l.received_at)},
                 {"scope", l.scope},
                 {"status", l.status},
                 {"cases", std::move(cases)},
                 {"package_sha256", l.package_sha256}};
  if (l.due_at) o["due_at"] = IsoDateTime(*l.due_at);
  if (l.produced_at) o["produced_at"] = IsoDateTime(*l.produced_at);
  return o;
}


struct Opened {
  std::unique_ptr<Store> store;
  server::ServerConfig config;
  server::ReportingServices services;
};

std::optional<Opened> Open(const ReportArgs& a, const CLI::App& app, const char* command) {
  Opened o;
  if (!a.config.empty()) {
    if (auto loaded = server::LoadServerConfig(a.config, o.config); !loaded) {
      ReportError(command, loaded.error());
      return std::nullopt;
    }
  }
  if (app.count("--data-dir") != 0 || o.config.data_dir.empty()) o.config.data_dir = a.store.data_dir;
  if (!a.store.database_url.empty()) o.config.database_url = a.store.database_url;
  o.store = OpenStoreOrReport({o.config.data_dir, o.config.database_url, ""}, command, o.config.workflow);
  if (!o.store) return std::nullopt;
  o.services = server::MakeReportingServices(*o.store, o.config, SystemClock());
  return o;
}

int NeedVault(const Opened& o, const char* command) {
  if (o.services.vault) return 0;
  std::fprintf(stderr, "vigil %s: the evidence vault is not available: %s\n", command, o.services.vault_error.c_str());
  return 1;
}

int WriteOut(const std::string& text, const std::string& out, const char* command) {
  if (out.empty() || out == "-") {
    std::cout << text;
    return 0;
  }
  std::ofstream file(out, std::ios::binary);
  file << text;
  file.close();
  if (!file) return ReportError(command, {ErrorCode::kIoError, out + ": cannot write"});
  return 0;
}

// A person's act, proved by their own API key (--api-key-file FILE, else VIGIL_API_KEY): the key's
// name for the audit log, when the key is active and of one of `roles`.
Result<std::string> PersonActor(Store& store, const ReportArgs& a, const std::vector<std::string>& roles,
                                const std::string& what) {
  std::string secret;
  if (!a.api_key_file.empty()) {
    std::ifstream in(a.api_key_file);
    if (!in || std::filesystem::is_directory(a.api_key_file)) {
      return Fail(ErrorCode::kNotFound, a.api_key_file + ": cannot read the API key file");
    }
    std::getline(in, secret);
    if (secret.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, a.api_key_file + ": the API key file is empty");
    }
  } else if (const char* env = std::getenv("VIGIL_API_KEY"); env != nullptr) {
    secret = env;
  }
  // Whitespace around the key (a file's line ending, an editor's indentation) is not part of it.
  const auto first = secret.find_first_not_of(" \t\r\n");
  secret = first == std::string::npos ? std::string() : secret.substr(first, secret.find_last_not_of(" \t\r\n") - first + 1);
  std::string roles_text;
  for (const auto& r : roles) roles_text += (roles_text.empty() ? "" : " or ") + r;
  if (secret.empty()) {
    return Fail(ErrorCode::kPermissionDenied,
                what + " is a person's act: give that person's own Vigil API key (" + roles_text +
                    ") with --api-key-file FILE or VIGIL_API_KEY" +
                    (a.as.empty() ? std::string() : "; --as alone names someone without their credential"));
  }
  auto key = store.Authenticate(secret);
  if (!key) return Fail(ErrorCode::kPermissionDenied, "the API key given is not an active key");
  const auto acting = std::find_if(roles.begin(), roles.end(), [&](const std::string& r) { return HoldsRole(key->role, r); });
  if (acting == roles.end()) {
    return Fail(ErrorCode::kPermissionDenied,
                what + " needs a " + roles_text + " key; '" + key->name + "' is " +
                    (key->role.find_first_of("aeiou") == 0 ? "an " : "a ") + key->role + " key");
  }
  std::string as = a.as;
  std::transform(as.begin(), as.end(), as.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!as.empty() && as != key->name) {
    return Fail(ErrorCode::kInvalidArgument, "--as names '" + a.as + "' but the API key is '" + key->name + "'");
  }
  return key->name;
}

int NoSigningKey(const char* command) {
  return ReportError(command, {ErrorCode::kInvalidArgument,
                               "no signing key configured ([legal] signing_key_env or signing_key_file)"});
}

// Appends one line to `path` (created if missing) and syncs it: an anchor file only grows.
Status AppendLine(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(ErrorCode::kIoError, path + ": cannot open for appending");
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Fail(ErrorCode::kIoError, path + ": cannot append");
  return {};
}

}  // namespace

Action RegisterReportCommands(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto common = [&](CLI::App* sub) {
    AddStoreFlags(*sub, a->store);
    sub->add_option("--config", a->config, "The service's configuration file (reporter, cybertip, vault, legal)");
    sub->add_option("--api-key-file", a->api_key_file,
                    "The acting person's own Vigil API key, in a file (else VIGIL_API_KEY): approve and retract take a "
                    "legal key, evidence read and legal export a custodian key, evidence hold and legal request a "
                    "legal or custodian key; the audit log names the key");
    sub->add_option("--as", a->as, "Cross-checks the name of the key given (never proof on its own)");
    return sub;
  };
  CLI::App* report = app.add_subcommand("report", "CyberTipline reports, and transparency reports");
  report->require_subcommand(1);
  CLI::App* list = common(report->add_subcommand("list", "Reports and their states (newest first)"));
  list->add_option("--state", a->state, "Only this state: draft, approved, open, filed, retracted, failed, voided");
  list->add_flag("--json", a->json, "JSON lines");
  CLI::App* draft = common(report->add_subcommand("draft", "Build and validate the report of a case decided violating"));
  draft->add_option("case", a->id, "Case id")->required();
  CLI::App* show_report = common(report->add_subcommand(
      "show", "A report exactly as it would be sent: the <report> document and each file's <fileDetails>, and what "
              "would stop it (read it before approving)"));
  show_report->add_option("id", a->id, "The report's id")->required();
  show_report->add_flag("--xml", a->xml_only, "Print only the <report> document");
  show_report->add_flag("--json", a->json, "One JSON object: the report, its documents and any problem");
  CLI::App* approve = common(report->add_subcommand("approve", "Record a person's approval of a draft"));
  approve->add_option("report", a->id, "Report id")->required();
  CLI::App* file = common(report->add_subcommand("file", "Submit, upload, describe and finish an approved report (resumes)"));
  file->add_option("report", a->id, "Report id")->required();
  CLI::App* xsd = common(report->add_subcommand(
      "xsd", "Download NCMEC's current XML schema (GET /xsd), check it, and save it for cybertip.xsd_path"));
  xsd->add_option("--out", a->out, "Where to save it")->required();
  CLI::App* ping = common(report->add_subcommand(
      "ping", "Check the CyberTipline answers and accepts the configured credentials (GET /status)"));
  CLI::App* resume = common(report->add_subcommand("resume", "File every approved or unfinished report (after a restart)"));
  resume->add_option("--grace-seconds", a->grace_seconds,
                     "Leave reports whose request went out less than this ago (another process may be waiting for "
                     "the answer); 0 after a crash, when nothing else files")
      ->check(CLI::Range(0, 86'400));
  CLI::App* retract = common(report->add_subcommand("retract", "Withdraw a report that is not filed yet"));
  retract->add_option("report", a->id, "Report id")->required();
  retract->add_option("--reason", a->reason, "Why")->required();
  CLI::App* transparency = common(report->add_subcommand(
      "transparency", "Per-month figures: suspensions, uploads actioned by source, reports, appeals, legal requests"));
  transparency->add_option("--from", a->from, "First day (YYYY-MM-DD, UTC)")->required();
  transparency->add_option("--to", a->to, "Day after the last (YYYY-MM-DD, UTC)")->required();
  transparency->add_option("--format", a->format, "html, csv or json")->check(CLI::IsMember({"html", "csv", "json"}));
  transparency->add_option("--out", a->out, "Write here instead of stdout");
  transparency->add_option("--platform", a->platform,
                            "The platform's name for the title (default: [reporter] platform in --config)");

  CLI::App* standin = report->add_subcommand(
      "standin", "Run a stand-in for NCMEC's CyberTipline API to rehearse filing end to end (never NCMEC: nothing "
                 "leaves this machine). Point [cybertip] base_url at the URL it prints; Ctrl-C ends it and prints "
                 "the reports it received");
  standin->add_option("--listen", a->listen, "HOST:PORT to listen on (port 0 picks one)");
  standin->add_option("--user", a->user, "The user name it accepts (HTTP Basic)");
  standin->add_option("--password-env", a->password_env, "The environment variable holding the password it accepts");
  standin->add_option("--xsd", a->xsd_path, "Validate submitted reports against this schema (as NCMEC does)")
      ->check(CLI::ExistingFile);

  CLI::App* evidence = app.add_subcommand("evidence", "The evidence vault: list, read, verify, hold, purge, rotate-key");
  evidence->require_subcommand(1);
  CLI::App* ev_list = common(evidence->add_subcommand("list", "Preserved items (of one case, or all not purged)"));
  ev_list->add_option("--case", a->id, "Case id");
  CLI::App* ev_read = common(evidence->add_subcommand("read", "Decrypt one item to a file (logged as a custodian read)"));
  ev_read->add_option("item", a->id, "Evidence id")->required();
  ev_read->add_option("--out", a->out, "Where to write the bytes")->required();
  CLI::App* ev_verify = common(evidence->add_subcommand("verify", "Check every live item decrypts and hashes to its address"));
  CLI::App* ev_hold = common(evidence->add_subcommand("hold", "Keep a case's items until a date (legal hold)"));
  ev_hold->add_option("case", a->id, "Case id")->required();
  ev_hold->add_option("--until", a->until, "YYYY-MM-DD")->required();
  ev_hold->add_option("--reason", a->reason, "Why (the legal process)")->required();
  CLI::App* ev_purge = common(evidence->add_subcommand("purge", "Delete items whose retention ended and that are not held"));
  CLI::App* ev_rotate = common(evidence->add_subcommand(
      "rotate-key", "Rewrap every item's key with a new master key (then configure the new key and restart)"));
  ev_rotate->add_option("--new-key-env", a->new_key_env, "Environment variable holding the new key (64 hex digits)");
  ev_rotate->add_option("--new-key-file", a->new_key_file, "File holding the new key (first line)");

  CLI::App* legal = app.add_subcommand("legal", "Law-enforcement legal process: record, export, verify");
  legal->require_subcommand(1);
  CLI::App* lg_request = common(legal->add_subcommand("request", "Record legal process received"));
  lg_request->add_option("--type", a->type, "subpoena, court_order, search_warrant, preservation, emergency, other")
      ->required()
      ->check(CLI::IsMember({"subpoena", "court_order", "search_warrant", "preservation", "emergency", "other"}));
  lg_request->add_option("--agency", a->agency, "Requesting agency")->required();
  lg_request->add_option("--case-number", a->case_number, "The agency's case number")->required();
  lg_request->add_option("--received", a->received, "Date received (YYYY-MM-DD)")->required();
  lg_request->add_option("--due", a->due, "Date due (YYYY-MM-DD)");
  lg_request->add_option("--scope", a->scope, "What is asked for")->required();
  lg_request->add_option("--cases", a->cases, "Case ids it concerns")->required()->delimiter(',');
  CLI::App* lg_list = common(legal->add_subcommand("list", "Recorded legal process"));
  CLI::App* lg_export = common(legal->add_subcommand("export", "Produce the signed package for a request"));
  lg_export->add_option("request", a->id, "Legal request id")->required();
  lg_export->add_option("--out", a->dir, "A new folder for the package, or a new FILE.tar for it as one archive")
      ->required();
  CLI::App* lg_verify = legal->add_subcommand("verify", "Check a package: signature, file hashes, custody records");
  lg_verify->add_option("package", a->dir,
                        "The package: a folder, or its tar archive (.tar or .tar.gz: read as it is, never unpacked)")
      ->required();
  lg_verify->add_option("--public-key", a->public_key, "The producer's Ed25519 public key (hex)")->required();
  CLI::App* lg_keygen = legal->add_subcommand("keygen", "Print a new signing seed (keep it secret) and its public key");
  CLI::App* lg_pubkey = common(legal->add_subcommand("pubkey", "Print the configured signing key's public key"));
  CLI::App* lg_anchor = common(legal->add_subcommand(
      "anchor", "Sign the audit log's last record with the signing key: a checkpoint to keep outside the database"));
  lg_anchor->add_option("--out", a->out, "Append the anchor (one JSON line) to this file as well as printing it");
  CLI::App* lg_check = common(legal->add_subcommand(
      "check-anchors", "Check anchors against the audit log: signed by the key, every anchored record unchanged"));
  lg_check->add_option("anchors", a->dir, "The anchors file (JSON lines)")->required();
  lg_check->add_option("--public-key", a->public_key, "The signer's Ed25519 public key (hex)")->required();

  return [=]() -> int {
    if (!report->parsed() && !evidence->parsed() && !legal->parsed()) return -1;
    if (standin->parsed()) {
      const char* password = std::getenv(a->password_env.c_str());
      if (password == nullptr || *password == '\0') {
        return ReportError("report standin", Error{ErrorCode::kInvalidArgument, a->password_env + " is empty: set the password it accepts"});
      }
      server::HttpServerOptions where;
      if (auto parsed = server::ParseListen(a->listen, where); !parsed) return ReportError("report standin", parsed.error());
      server::BlockShutdownSignals();
      server::CyberTipStandIn ncmec(a->user, password, a->xsd_path);
      if (!ncmec.Start(where.host, where.port)) {
        return ReportError("report standin", Error{ErrorCode::kUnavailable, "cannot listen on " + a->listen});
      }
      std::printf("CyberTipline stand-in (not NCMEC) at %s\n", ncmec.base_url().c_str());
      std::fflush(stdout);
      server::WaitForShutdownSignal();
      for (const auto& r : ncmec.Reports()) {
        std::printf("%s\n", json::serialize(json::object{{"report_id", r.id},
                                                          {"state", r.state},
                                                          {"esp_identifier", r.esp_identifier},
                                                          {"files", r.file_ids.size()}})
                                 .c_str());
      }
      return 0;
    }
    if (lg_keygen->parsed()) {
      const std::string seed = NewSigningSeed();
      std::printf("seed %s\npublic_key %s\n", seed.c_str(), SigningPublicKey(seed)->c_str());
      return 0;
    }
    if (lg_verify->parsed()) {
      auto check = VerifyLegalPackage(a->dir, a->public_key);
      if (!check) return ReportError("legal verify", check.error());
      for (const auto& p : check->problems) std::printf("problem: %s\n", p.c_str());
      std::printf("signature %s; %d files and %d custody records checked: %s\n", check->signature_ok ? "valid" : "INVALID",
                  check->files_checked, check->custody_records_checked,
                  check->problems.empty() ? "the package verifies" : "NOT VALID");
      return check->problems.empty() ? 0 : 1;
    }
    const CLI::App* parsed = nullptr;
    for (const CLI::App* sub : {list, show_report, draft, approve, file, resume, retract, transparency, xsd, ping, ev_list, ev_read, ev_verify,
                                ev_hold, ev_purge, ev_rotate, lg_request, lg_list, lg_export, lg_pubkey, lg_anchor,
                                lg_check}) {
      if (sub->parsed()) parsed = sub;
    }
    if (parsed == nullptr) return -1;
    const std::string name = parsed->get_parent()->get_name() + " " + parsed->get_name();
    const char* command = name.c_str();
    auto o = Open(*a, *parsed, command);
    if (!o) return 1;
    Store& store = *o->store;
    auto& filer = *o->services.filer;
    // Who acts: a person's acts take that person's own key; everything else is the operator's.
    struct PersonAct {
      const CLI::App* sub;
      std::vector<std::string> roles;
      const char* what;
    };
    const PersonAct acts[] = {{approve, {"legal"}, "approving a report"},
                              {retract, {"legal"}, "withdrawing a report"},
                              {ev_read, {"custodian"}, "reading evidence"},
                              {ev_hold, {"custodian", "legal"}, "a legal hold"},
                              {lg_request, {"legal"}, "recording legal process"},
                              {lg_export, {"custodian"}, "a production for legal process"}};
    std::string actor = "operator:" + OsUser();
    const PersonAct* act = nullptr;
    for (const auto& candidate : acts) {
      if (candidate.sub == parsed) act = &candidate;
    }
    if (act != nullptr) {
      auto person = PersonActor(store, *a, act->roles, act->what);
      if (!person) return ReportError(command, person.error());
      actor = *person;
    } else if (!a->as.empty() || !a->api_key_file.empty()) {
      return ReportError(command, Error{ErrorCode::kInvalidArgument,
                                        "this command runs as the operator (audited as " + actor +
                                            "): --as and --api-key-file are for a person's acts"});
    }
    auto show = [&](const Result<CyberTipReport>& r) {
      if (!r) return ReportError(command, r.error());
      PrintJson(ReportJson(*r));
      return r->state == ReportState::kFailed ? 1 : 0;
    };
    if (list->parsed()) {
      std::optional<ReportState> state;
      if (!a->state.empty()) {
        auto wanted = ParseReportState(a->state);
        if (!wanted) {
          std::fprintf(stderr, "vigil report list: %s\n", wanted.error().message.c_str());
          return 2;
        }
        state = *wanted;
      }
      auto reports = store.Reports().ListReports(state, 1000);
      if (!reports) return ReportError(command, reports.error());
      for (const auto& r : *reports) {
        if (a->json) {
          PrintJson(ReportJson(r));
        } else {
          std::printf("%6lld  case %-6lld %-9s %-10s ncmec=%s %s\n", static_cast<long long>(r.id),
                      static_cast<long long>(r.case_id), ReportStateName(r.state), r.user_id.c_str(),
                      r.ncmec_report_id.empty() ? "-" : r.ncmec_report_id.c_str(), r.last_error.c_str());
        }
      }
      return 0;
    }
    if (xsd->parsed()) {
      auto text = o->services.client->DownloadSchema();
      if (!text) return ReportError(command, text.error());
      // Saved whole and checked before it replaces anything the filer validates against.
      const std::string tmp = a->out + ".download";
      if (int rc = WriteOut(*text, tmp, command); rc != 0) return rc;
      if (auto usable = CheckSchemaFile(tmp); !usable) {
        std::filesystem::remove(tmp);
        return ReportError(command, usable.error());
      }
      std::filesystem::rename(tmp, a->out);
      std::printf("%s: %zu bytes, a usable XML schema; set [cybertip] xsd_path = \"%s\"\n", a->out.c_str(),
                  text->size(), a->out.c_str());
      return 0;
    }
    if (ping->parsed()) {
      auto answer = o->services.client->Status();
      if (!answer) return ReportError(command, answer.error());
      std::printf("%s: response code %d %s\n", o->config.reporting.cybertip.base_url.c_str(), answer->code,
                  answer->description.c_str());
      return answer->code == 0 ? 0 : 1;
    }
    if (show_report->parsed()) {
      auto r = store.Reports().GetReport(a->id);
      if (!r) return ReportError(command, r.error());
      auto preview = filer.Preview(a->id);
      if (!preview) return ReportError(command, preview.error());
      if (a->xml_only) {
        std::cout << preview->report_xml;
        return 0;
      }
      if (a->json) {
        json::array files;
        for (const auto& [content_id, xml] : preview->file_details) {
          files.push_back(json::object{{"content_id", content_id}, {"file_details_xml", xml}});
        }
        json::object out = ReportJson(*r);
        out["report_xml"] = preview->report_xml;
        out["file_details"] = std::move(files);
        out["problem"] = preview->problem;
        PrintJson(out);
        return 0;
      }
      std::printf("report %lld (case %lld, %s)%s%s\n\n", static_cast<long long>(r->id), static_cast<long long>(r->case_id),
                  ReportStateName(r->state), preview->problem.empty() ? "" : "\nWOULD NOT BE FILED AS IT STANDS: ",
                  preview->problem.c_str());
      std::printf("<report> for /submit:\n%s\n", preview->report_xml.c_str());
      for (const auto& [content_id, xml] : preview->file_details) {
        std::printf("<fileDetails> for /fileinfo of %s:\n%s\n", content_id.c_str(), xml.c_str());
      }
      return 0;
    }
    if (draft->parsed()) return show(filer.Draft(a->id, actor));
    if (approve->parsed()) {
      return show(filer.Approve(a->id, actor));
    }
    if (file->parsed()) {
      auto r = filer.File(a->id, actor);
      const int status = show(r);
      return status != 0 ? status : (r->state == ReportState::kFiled || r->state == ReportState::kRetracted ? 0 : 3);
    }
    if (resume->parsed()) {
      auto filed = filer.ResumeAll(actor, std::chrono::seconds(a->grace_seconds));
      if (!filed) return ReportError(command, filed.error());
      std::printf("%d reports filed\n", *filed);
      return 0;
    }
    if (retract->parsed()) return show(filer.Retract(a->id, actor, a->reason));
    if (transparency->parsed()) {
      auto from = ParseDate(a->from);
      auto to = ParseDate(a->to);
      if (!from) return ReportError(command, from.error());
      if (!to) return ReportError(command, to.error());
      auto built = BuildTransparencyReport(store.Reports(), *from, *to);
      if (!built) return ReportError(command, built.error());
      // Named as the service names it: the configured platform, the rules file's category titles.
      built->platform = a->platform.empty() ? o->config.reporting.filer.reporter.platform : a->platform;
      built->category_titles = CategoryTitles(Taxonomy::BuiltIn());
      if (!o->config.api.rules_path.empty()) {
        if (auto rules = PolicyRules::Load(o->config.api.rules_path)) {
          built->category_titles = CategoryTitles(rules->taxonomy());
        } else {
          std::fprintf(stderr, "vigil %s: category titles are the built-in ones: %s\n", command,
                       rules.error().ToString().c_str());
        }
      }
      const std::string text = a->format == "json"  ? TransparencyJson(*built)
                               : a->format == "csv" ? TransparencyCsv(*built)
                                                    : TransparencyHtml(*built);
      return WriteOut(text, a->out, command);
    }
    if (lg_request->parsed()) {
      LegalRequest r;
      r.type = a->type;
      r.agency = a->agency;
      r.case_number = a->case_number;
      auto received = ParseDate(a->received);
      if (!received) return ReportError(command, received.error());
      r.received_at = *received;
      if (!a->due.empty()) {
        auto due = ParseDate(a->due);
        if (!due) return ReportError(command, due.error());
        r.due_at = *due;
      }
      r.scope = a->scope;
      r.case_ids = a->cases;
      r.created_by = actor;
      auto created = store.Reports().CreateLegalRequest(r);
      if (!created) return ReportError(command, created.error());
      PrintJson(LegalJson(*created));
      return 0;
    }
    if (lg_list->parsed()) {
      auto requests = store.Reports().ListLegalRequests("");
      if (!requests) return ReportError(command, requests.error());
      for (const auto& r : *requests) PrintJson(LegalJson(r));
      return 0;
    }
    if (lg_pubkey->parsed()) {
      if (o->services.signing_seed.empty()) return NoSigningKey(command);
      auto pk = SigningPublicKey(o->services.signing_seed);
      if (!pk) return ReportError(command, pk.error());
      std::printf("%s\n", pk->c_str());
      return 0;
    }
    if (lg_anchor->parsed()) {
      if (o->services.signing_seed.empty()) return NoSigningKey(command);
      auto anchor = MakeAuditAnchor(store, o->services.signing_seed, SystemClock().NowMicros());
      if (!anchor) return ReportError(command, anchor.error());
      const std::string line = AuditAnchorJson(*anchor) + "\n";
      if (!a->out.empty()) {
        if (auto appended = AppendLine(a->out, line); !appended) return ReportError(command, appended.error());
      }
      std::cout << line;
      return 0;
    }
    if (lg_check->parsed()) {
      auto bytes = ReadFileLimited(a->dir, 256ull << 20);
      if (!bytes) return ReportError(command, bytes.error());
      const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
      auto check = CheckAuditAnchors(store, text, a->public_key);
      if (!check) return ReportError(command, check.error());
      for (const auto& p : check->problems) std::printf("problem: %s\n", p.c_str());
      std::printf("%d anchors checked against %lld records: %s\n", check->anchors, static_cast<long long>(check->records),
                  check->problems.empty() ? "every anchor holds and the chain verifies" : "NOT VALID");
      return check->problems.empty() ? 0 : 1;
    }
    if (int missing = NeedVault(*o, command); missing != 0) return missing;
    EvidenceVault& vault = *o->services.vault;
    if (lg_export->parsed()) {
      if (o->services.signing_seed.empty()) return NoSigningKey(command);
      const bool archive = a->dir.size() > 4 && a->dir.compare(a->dir.size() - 4, 4, ".tar") == 0;
      auto package = archive ? ProduceLegalArchive(store, vault, a->id, ArchiveOutput{a->dir, {}, 0},
                                                   o->services.signing_seed, actor, kCustodianRole)
                             : ProduceLegalPackage(store, vault, a->id, a->dir, o->services.signing_seed, actor,
                                                   kCustodianRole);
      if (!package) return ReportError(command, package.error());
      std::printf("%s: %d files, %d custody records, manifest sha256 %s\n", package->path.c_str(), package->files,
                  package->custody_records, package->manifest_sha256.c_str());
      return 0;
    }
    if (ev_list->parsed()) {
      auto items = store.Reports().ListEvidence(a->id);
      if (!items) return ReportError(command, items.error());
      for (const auto& e : *items) PrintJson(EvidenceJson(e));
      return 0;
    }
    if (ev_read->parsed()) {
      auto bytes = vault.Read(a->id, actor, kCustodianRole);
      if (!bytes) return ReportError(command, bytes.error());
      return WriteOut(*bytes, a->out, command);
    }
    if (ev_verify->parsed()) {
      auto items = store.Reports().ListEvidence(0);
      if (!items) return ReportError(command, items.error());
      ProgressBar progress(items->size(), "verify", isatty(2) != 0);
      std::size_t bad = 0, done = 0;
      for (const auto& e : *items) {
        if (auto ok = vault.Verify(e.id, actor); !ok) {
          ++bad;
          std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        }
        progress.Update(++done, bad);
      }
      progress.Finish();
      std::printf("%zu items, %zu failed\n", items->size(), bad);
      return bad == 0 ? 0 : 1;
    }
    if (ev_hold->parsed()) {
      auto until = ParseDate(a->until);
      if (!until) return ReportError(command, until.error());
      // As the API checks a hold: why, and until a day to come.
      if (a->reason.find_first_not_of(" \t") == std::string::npos) {
        return ReportError(command, Error{ErrorCode::kInvalidArgument, "a legal hold needs --reason (the legal process it serves)"});
      }
      if (*until <= SystemClock().NowMicros()) {
        return ReportError(command, Error{ErrorCode::kInvalidArgument, "--until " + a->until + " is not in the future"});
      }
      auto changed = store.Reports().ExtendHold(a->id, *until, actor, a->reason);
      if (!changed) return ReportError(command, changed.error());
      std::printf("%d items held until %s\n", *changed, a->until.c_str());
      return 0;
    }
    if (ev_rotate->parsed()) {
      const std::string new_key = server::ReadSecret(a->new_key_env, a->new_key_file);
      if (new_key.empty()) {
        return ReportError(command, {ErrorCode::kInvalidArgument, "no new key: give --new-key-env or --new-key-file"});
      }
      auto rotated = vault.RotateMasterKey(new_key, actor);
      if (!rotated) return ReportError(command, rotated.error());
      for (const auto& p : rotated->problems) std::fprintf(stderr, "%s\n", p.c_str());
      std::printf("%d item keys rewrapped, %d already under the new key, %zu problems\n", rotated->rewrapped,
                  rotated->already_rotated, rotated->problems.size());
      return rotated->problems.empty() ? 0 : 1;
    }
    (void)ev_purge;
    const PurgeResult purged = vault.PurgeExpired(actor);
    for (const auto& p : purged.problems) std::fprintf(stderr, "%s\n", p.c_str());
    std::printf("%d items purged; %d kept (held meanwhile)\n", purged.purged, purged.kept_on_hold);
    return purged.problems.empty() ? 0 : 1;
  };
}

}  // namespace vigil::cli
