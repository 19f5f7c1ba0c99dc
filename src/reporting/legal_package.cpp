// Law-enforcement production packages (see include/vigil/legal_package.h).
#include "vigil/legal_package.h"

#include <sodium.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <set>

#include "reporting/ed25519.h"
#include "reporting/sodium_hex.h"
#include "store/audit_chain.h"
#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/reports.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using reporting::Hex;

std::string Sha256(const std::string& bytes) {
  return Sha256Hex(bytes);
}

Status WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Fail(ErrorCode::kIoError, path.string() + ": cannot write");
  return {};
}

Result<std::string> ReadText(const fs::path& path) {
  auto bytes = ReadFileLimited(path, 8ull << 30);
  if (!bytes) return tl::unexpected(bytes.error());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

std::string Extension(const std::string& media_type) {
  if (media_type == "image/jpeg") return ".jpg";
  if (media_type == "image/png") return ".png";
  if (media_type == "application/json") return ".json";
  if (media_type == "application/xml") return ".xml";
  const auto slash = media_type.find('/');
  if (slash != std::string::npos && media_type.size() - slash <= 6) return "." + media_type.substr(slash + 1);
  return ".bin";
}

}  // namespace

std::string NewSigningSeed() {
  if (sodium_init() < 0) return {};
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  std::string hex = Hex(seed, sizeof seed);
  sodium_memzero(seed, sizeof seed);
  return hex;
}

Result<std::string> SigningPublicKey(const std::string& signing_seed_hex) {
  return reporting::Ed25519PublicKey(signing_seed_hex);
}

Result<LegalPackage> ProduceLegalPackage(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const std::string& out_dir, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (role != kCustodianRole) return Fail(ErrorCode::kPermissionDenied, "only a custodian may produce evidence");
  auto public_key = reporting::Ed25519PublicKey(signing_seed_hex);  // a bad key stops it before anything is read
  if (!public_key) return tl::unexpected(public_key.error());
  auto request = store.Reports().GetLegalRequest(request_id);
  if (!request) return tl::unexpected(request.error());
  if (request->case_ids.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "legal request " + std::to_string(request_id) + " names no case");
  }
  const fs::path dir(out_dir);
  std::error_code ec;
  if (fs::exists(dir, ec)) return Fail(ErrorCode::kAlreadyExists, out_dir + " exists: a package goes to a new folder");
  fs::create_directories(dir / "files", ec);
  if (ec) return Fail(ErrorCode::kIoError, out_dir + ": " + ec.message());

  json::array files;
  std::set<std::string> targets = {"legal:" + std::to_string(request_id)};
  for (std::int64_t case_id : request->case_ids) {
    auto c = store.Cases().GetCase(case_id);
    if (!c) return tl::unexpected(c.error());
    targets.insert(std::to_string(case_id));
    targets.insert(c->user_id);
    for (const auto& item : c->items) targets.insert(item.content_id);
    auto items = store.Reports().ListEvidence(case_id);
    if (!items) return tl::unexpected(items.error());
    for (const auto& e : *items) {
      if (e.purged_at) continue;
      targets.insert("evidence:" + std::to_string(e.id));
      if (e.report_id != 0) targets.insert("report:" + std::to_string(e.report_id));
      auto plain = vault.Read(e.id, actor, role);
      if (!plain) return tl::unexpected(plain.error());
      const std::string name = "files/" + std::to_string(e.id) + "-" + e.kind + Extension(e.media_type);
      VIGIL_TRY(WriteFile(dir / name, *plain));
      files.push_back(json::object{{"path", name},
                                   {"sha256", e.address},
                                   {"size", e.size},
                                   {"evidence_id", e.id},
                                   {"kind", e.kind},
                                   {"media_type", e.media_type},
                                   {"case_id", e.case_id},
                                   {"report_id", e.report_id},
                                   {"content_id", e.content_id},
                                   {"preserved_at", IsoDateTime(e.preserved_at)}});
    }
  }
  // The custody log is read after the reads above, so it shows them.
  auto custody = store.Reports().CustodyLog({targets.begin(), targets.end()});
  if (!custody) return tl::unexpected(custody.error());
  std::string lines;
  for (const auto& r : *custody) {
    lines += json::serialize(json::object{{"id", r.id},
                                          {"at", r.at},
                                          {"time", IsoDateTime(r.at)},
                                          {"actor", r.actor},
                                          {"action", r.action},
                                          {"target", r.target},
                                          {"detail", r.detail},
                                          {"prev_hash", r.prev_hash},
                                          {"hash", r.hash}}) +
             "\n";
  }
  VIGIL_TRY(WriteFile(dir / "custody.jsonl", lines));
  json::array case_ids;
  for (auto id : request->case_ids) case_ids.emplace_back(id);
  json::object req{{"id", request->id},
                   {"type", request->type},
                   {"agency", request->agency},
                   {"case_number", request->case_number},
                   {"received_at", IsoDateTime(request->received_at)},
                   {"scope", request->scope}};
  if (request->due_at) req["due_at"] = IsoDateTime(*request->due_at);
  json::object manifest{{"format", "vigil-legal-package/1"},
                        {"request", std::move(req)},
                        {"cases", std::move(case_ids)},
                        {"files", std::move(files)},
                        {"custody_log", json::object{{"path", "custody.jsonl"},
                                                     {"sha256", Sha256(lines)},
                                                     {"records", custody->size()}}},
                        {"produced_by", actor},
                        {"produced_at", IsoDateTime(std::chrono::duration_cast<std::chrono::microseconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count())},
                        {"signing_public_key", *public_key}};
  const std::string manifest_text = json::serialize(manifest) + "\n";
  VIGIL_TRY(WriteFile(dir / "manifest.json", manifest_text));
  auto signature = reporting::Ed25519Sign(signing_seed_hex, manifest_text);
  if (!signature) return tl::unexpected(signature.error());
  VIGIL_TRY(WriteFile(dir / "manifest.sig", *signature + "\n"));
  LegalPackage package;
  package.directory = out_dir;
  package.manifest_sha256 = Sha256(manifest_text);
  package.files = static_cast<int>(manifest.at("files").as_array().size());
  package.custody_records = static_cast<int>(custody->size());
  auto produced = store.Reports().RecordProduction(request_id, package.manifest_sha256, actor);
  if (!produced) return tl::unexpected(produced.error());
  return package;
}

Result<PackageCheck> VerifyLegalPackage(const std::string& directory, const std::string& public_key_hex) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  const fs::path dir(directory);
  auto manifest_text = ReadText(dir / "manifest.json");
  if (!manifest_text) return Fail(ErrorCode::kNotFound, directory + ": no manifest.json");
  auto signature_text = ReadText(dir / "manifest.sig");
  if (!signature_text) return Fail(ErrorCode::kNotFound, directory + ": no manifest.sig");
  PackageCheck check;
  std::string sig_hex = *signature_text;
  while (!sig_hex.empty() && (sig_hex.back() == '\n' || sig_hex.back() == '\r')) sig_hex.pop_back();
  auto valid = reporting::Ed25519Verify(public_key_hex, *manifest_text, sig_hex);
  if (!valid) return tl::unexpected(valid.error());
  check.signature_ok = *valid;
  if (!check.signature_ok) check.problems.push_back("the signature does not verify with this public key");
  boost::system::error_code ec;
  const auto manifest = json::parse(*manifest_text, ec);
  if (ec || !manifest.is_object() || !manifest.as_object().contains("files")) {
    check.problems.push_back("manifest.json is not a package manifest");
    return check;
  }
  std::set<std::string> listed;
  for (const auto& f : manifest.at("files").as_array()) {
    const std::string path(f.at("path").as_string());
    listed.insert(path);
    if (path.find("..") != std::string::npos || path.rfind("files/", 0) != 0) {
      check.problems.push_back(path + ": a path outside files/");
      continue;
    }
    auto bytes = ReadText(dir / path);
    if (!bytes) {
      check.problems.push_back(path + ": missing");
      continue;
    }
    ++check.files_checked;
    if (Sha256(*bytes) != f.at("sha256").as_string()) check.problems.push_back(path + ": SHA-256 differs");
    if (static_cast<std::int64_t>(bytes->size()) != f.at("size").to_number<std::int64_t>()) {
      check.problems.push_back(path + ": size differs");
    }
  }
  for (const auto& entry : fs::directory_iterator(dir / "files", ec)) {
    const std::string rel = "files/" + entry.path().filename().string();
    if (!listed.count(rel)) check.problems.push_back(rel + ": not in the manifest");
  }
  auto custody = ReadText(dir / "custody.jsonl");
  if (!custody) {
    check.problems.push_back("custody.jsonl: missing");
    return check;
  }
  if (Sha256(*custody) != manifest.at("custody_log").at("sha256").as_string()) {
    check.problems.push_back("custody.jsonl: SHA-256 differs from the manifest");
  }
  std::size_t start = 0;
  while (start < custody->size()) {
    const auto end = custody->find('\n', start);
    const std::string line = custody->substr(start, end - start);
    start = end == std::string::npos ? custody->size() : end + 1;
    if (line.empty()) continue;
    const auto r = json::parse(line, ec);
    if (ec || !r.is_object()) {
      check.problems.push_back("custody.jsonl: a line is not JSON");
      continue;
    }
    const auto& o = r.as_object();
    const std::string expected = store::AuditRecordHash(
        std::string(o.at("prev_hash").as_string()), o.at("id").to_number<std::int64_t>(), o.at("at").to_number<std::int64_t>(),
        std::string(o.at("actor").as_string()), std::string(o.at("action").as_string()),
        std::string(o.at("target").as_string()), std::string(o.at("detail").as_string()));
    ++check.custody_records_checked;
    if (expected != o.at("hash").as_string()) {
      check.problems.push_back("custody record " + std::to_string(o.at("id").to_number<std::int64_t>()) +
                               ": its hash does not match its fields");
    }
  }
  return check;
}

}  // namespace vigil
