// Building the reporting services from configuration (see reporting_services.h).
#include "server/reporting_services.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vigil::server {

std::string ReadSecret(const std::string& env_name, const std::string& file) {
  if (!env_name.empty()) {
    if (const char* value = std::getenv(env_name.c_str()); value != nullptr && *value != '\0') return value;
  }
  if (file.empty()) return {};
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
  return line;
}

ReportingServices MakeReportingServices(Store& store, const ServerConfig& config, const Clock& clock) {
  ReportingServices s;
  const auto& rep = config.reporting;
  CyberTipConfig cybertip = rep.cybertip;
  cybertip.password = ReadSecret(rep.password_env, "");
  s.client = std::make_unique<CyberTipClient>(cybertip, MakeHttpTransport(cybertip));
  VaultOptions vault;
  vault.directory = (std::filesystem::path(config.data_dir) / "vault").string();
  vault.master_key_hex = ReadSecret(rep.vault_key_env, rep.vault_key_file);
  vault.retention_days = rep.retention_days;
  if (auto opened = EvidenceVault::Open(store, vault, clock)) {
    s.vault = std::move(*opened);
  } else {
    s.vault_error = opened.error().message;
  }
  FilerOptions filer = rep.filer;
  filer.media_dir = (std::filesystem::path(config.data_dir) / "media").string();
  s.filer = std::make_unique<ReportFiler>(store, *s.client, s.vault.get(), filer);
  s.signing_seed = ReadSecret(rep.signing_key_env, rep.signing_key_file);
  s.preserve_on_confirm = rep.preserve_on_confirm;
  s.platform = rep.filer.reporter.platform;
  return s;
}

}  // namespace vigil::server
