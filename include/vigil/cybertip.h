// CyberTipline reports: the XML NCMEC's reporting API takes (see ../shared/specs/ncmec.md), built
// with libxml2 from a decided case, its enforcement records and the review record, and validated
// before anything is sent: required fields here, and the operator's copy of NCMEC's schema
// (GET /xsd) when one is configured.
//
// Facts with legal weight come from records, never defaults: `fileViewedByEsp` is true only for
// files the reviewer revealed; the account-disabled dates and notification come from the
// enforcement actions; the industry classification is sent only when the operator enabled it
// (it requires the industry hash-sharing MOU).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

// The reporting company, from configuration (the same for every report).
struct ReporterProfile {
  std::string company_name;
  std::string first_name, last_name, email, phone;  // the reporting person
  std::string contact_email;                        // law-enforcement follow-up, if different
  std::string company_template;  // standing text: how to serve legal process, retention, 24h contacts
  std::string terms_of_service;
  std::string legal_url;
  std::string platform;  // the product the incident happened on
  std::string incident_type = "Child Pornography (possession, manufacture, and distribution)";
  bool industry_classification = false;  // only with the industry hash-sharing MOU
};

struct IpEvent {
  std::string ip;
  std::string event = "Upload";  // Login, Registration, Purchase, Upload, Other, Unknown
  std::int64_t at = 0;           // microseconds since the epoch
};

struct ReportFile {
  std::string content_id;
  std::string file_name;
  std::string media_type;
  std::int64_t uploaded_at = 0;
  std::string md5, sha1, sha256;  // of the bytes as the user uploaded them
  bool viewed_by_esp = false;     // the reviewer revealed it: from the review record
  bool publicly_available = false;
  std::string classification;     // A1, A2, B1, B2 (sent only when enabled)
  std::optional<IpEvent> upload_ip;
};

struct ReportedUser {
  std::string esp_identifier;  // the platform's user id
  std::string screen_name;
  std::vector<IpEvent> ip_events;
  // From the enforcement records: when the account was first disabled (temporarily, permanently),
  // and when the user was first told of that kind of disablement (never before it).
  std::optional<std::int64_t> temporarily_disabled_at, permanently_disabled_at, reenabled_at;
  std::optional<std::int64_t> temporarily_notified_at, permanently_notified_at;
};

struct ReportDraft {
  std::int64_t incident_at = 0;  // the first upload's time
  std::string incident_description;
  ReportedUser user;
  std::vector<ReportFile> files;
  std::string additional_info;
};

// Required fields present, values in range (the issue NCMEC's /finish would otherwise reject).
Status ValidateReport(const ReportDraft& draft, const ReporterProfile& reporter);

// The <report> document for /submit.
Result<std::string> BuildReportXml(const ReportDraft& draft, const ReporterProfile& reporter);

// The <fileDetails> document for /fileinfo.
Result<std::string> BuildFileDetailsXml(const std::string& report_id, const std::string& file_id, const ReportFile& file,
                                        const ReporterProfile& reporter);

// Whether a file is a usable XML schema (NCMEC's, downloaded with `vigil report xsd`).
Status CheckSchemaFile(const std::string& xsd_path);
// Validates a document against an XSD file (NCMEC's, as the operator downloaded it). Errors carry
// libxml2's messages with line numbers.
Status ValidateAgainstSchema(const std::string& xml, const std::string& xsd_path);

// ISO-8601 UTC with milliseconds ("2026-11-30T04:05:06.123Z"), as the schema's dateTime wants.
std::string IsoDateTime(std::int64_t micros);

}  // namespace vigil
