// The reporting side of a running Vigil (the service and the CLI share it): the CyberTipline
// client, the evidence vault and the report filer, built from the configuration and the secrets
// it names (environment variables or files; never the configuration file itself, never logged).
#pragma once

#include <memory>
#include <string>

#include "server/server_config.h"
#include "vigil/cybertip_client.h"
#include "vigil/evidence_vault.h"
#include "vigil/report_filer.h"
#include "vigil/store.h"

namespace vigil::server {

struct ReportingServices {
  std::unique_ptr<CyberTipClient> client;
  std::unique_ptr<EvidenceVault> vault;  // null when no master key is configured (vault_error says why)
  std::unique_ptr<ReportFiler> filer;
  std::string vault_error;
  std::string signing_seed;  // empty when none is configured
  bool preserve_on_confirm = true;
  std::string platform;  // the reporter's platform name (titles of transparency reports)
};

// Reads a secret: the environment variable if set, else the file (first line, trimmed).
std::string ReadSecret(const std::string& env_name, const std::string& file);

ReportingServices MakeReportingServices(Store& store, const ServerConfig& config, const Clock& clock);

}  // namespace vigil::server
