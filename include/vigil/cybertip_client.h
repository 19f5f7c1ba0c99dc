// A client of NCMEC's CyberTipline reporting API (../shared/specs/ncmec.md): submit, upload,
// fileinfo, finish, retract and status, with HTTP Basic credentials, http:// or https:// base URLs
// (test and production are configuration), retries with exponential backoff on transient failures
// (connection errors, HTTP 5xx, response codes 1000/1100/1110/1111/1300), and NCMEC's response codes
// kept (unknown codes round-trip). /finish and /retract are idempotent at NCMEC (5102 and 5101 say
// it was done before), /upload is not: a lost answer to it is reported, never retried blindly. The transport is an interface so tests can use a stand-in
// server or a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

struct CyberTipResponse {
  int code = -1;  // NCMEC's responseCode (0 success); -1 when there was no parsable answer
  std::string description;
  std::string report_id;
  std::string file_id;
  std::string hash;                    // /upload: NCMEC's MD5 of the file
  std::vector<std::string> file_ids;   // /finish
  unsigned http_status = 0;
  std::string request_id;              // the Request-ID header, for correspondence with NCMEC
};

struct HttpPost {
  std::string path;          // "/submit"
  std::string content_type;
  std::string body;
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
  std::string request_id;
};

// Sends one request. kUnavailable: it never left (connection failed); kIoError: it was sent but
// no answer came back, so NCMEC may or may not have acted on it.
class CyberTipTransport {
 public:
  virtual ~CyberTipTransport() = default;
  virtual Result<HttpAnswer> Post(const HttpPost& request) = 0;
  virtual Result<HttpAnswer> Get(const std::string& path) = 0;
};

struct CyberTipConfig {
  std::string base_url = "https://exttest.cybertip.org/ispws";  // the test environment by default
  std::string username, password;
  int attempts = 5;
  std::chrono::milliseconds backoff{500};  // doubled after each failed attempt, up to 30 s
  std::chrono::seconds timeout{60};
};

// The real transport: Boost.Beast over TCP, with TLS (OpenSSL, peer verified) for https.
std::unique_ptr<CyberTipTransport> MakeHttpTransport(const CyberTipConfig& config);

class CyberTipClient {
 public:
  CyberTipClient(CyberTipConfig config, std::unique_ptr<CyberTipTransport> transport);

  Result<CyberTipResponse> Status();
  // NCMEC's current XML schema (GET /xsd), as text.
  Result<std::string> DownloadSchema();
  Result<CyberTipResponse> Submit(const std::string& report_xml);
  Result<CyberTipResponse> Upload(const std::string& report_id, const std::string& file_name, const std::string& bytes);
  Result<CyberTipResponse> FileInfo(const std::string& file_details_xml);
  Result<CyberTipResponse> Finish(const std::string& report_id);
  Result<CyberTipResponse> Retract(const std::string& report_id);

  // Whether a response code means "try again later".
  static bool Transient(int code);

 private:
  // Retries transient refusals and undelivered requests; requests that may have been acted on
  // (no answer after sending) only when `idempotent`. Those come back as kIoError.
  Result<CyberTipResponse> Call(const HttpPost& request, bool idempotent);
  CyberTipConfig config_;
  std::unique_ptr<CyberTipTransport> transport_;
};

// Parses NCMEC's reportResponse / reportDoneResponse XML.
Result<CyberTipResponse> ParseCyberTipResponse(const std::string& xml);

}  // namespace vigil
