// CyberTipline report XML with libxml2 (see include/vigil/cybertip.h). Elements follow NCMEC's
// schema as ../shared/specs/ncmec.md transcribes it; libxml2 escapes every value.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "vigil/cybertip.h"

namespace vigil {
namespace {

struct DocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

xmlNode* Child(xmlNode* parent, const char* name, const std::string& text = "") {
  xmlNode* node = xmlNewChild(parent, nullptr, X(name), nullptr);
  if (!text.empty()) xmlNodeAddContent(node, X(text.c_str()));
  return node;
}

void Attr(xmlNode* node, const char* name, const std::string& value) { xmlNewProp(node, X(name), X(value.c_str())); }

std::string Serialize(xmlDoc* doc) {
  xmlChar* buffer = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc, &buffer, &size, "UTF-8", 1);
  std::string out(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(size));
  xmlFree(buffer);
  return out;
}

void IpCapture(xmlNode* parent, const IpEvent& e) {
  xmlNode* node = Child(parent, "ipCaptureEvent");
  Child(node, "ipAddress", e.ip);
  Child(node, "eventName", e.event);
  Child(node, "dateTime", IsoDateTime(e.at));
}

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

bool ValidEvent(const std::string& e) {
  return e == "Login" || e == "Registration" || e == "Purchase" || e == "Upload" || e == "Other" || e == "Unknown";
}

}  // namespace

std::string IsoDateTime(std::int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", date, static_cast<long long>((micros % 1'000'000) / 1000));
  return out;
}

Status ValidateReport(const ReportDraft& d, const ReporterProfile& r) {
  auto missing = [](const char* what) { return Fail(ErrorCode::kInvalidArgument, std::string("report: ") + what); };
  if (r.incident_type.empty()) return missing("the incident type is required");
  if (d.incident_at <= 0) return missing("the incident date and time are required");
  if (r.email.empty() || r.first_name.empty() || r.last_name.empty()) {
    return missing("the reporting person's name and email are required (reporter config)");
  }
  if (d.files.empty()) return missing("at least one file is required");
  if ((d.user.temporarily_notified_at && (!d.user.temporarily_disabled_at ||
                                          *d.user.temporarily_notified_at < *d.user.temporarily_disabled_at)) ||
      (d.user.permanently_notified_at && (!d.user.permanently_disabled_at ||
                                          *d.user.permanently_notified_at < *d.user.permanently_disabled_at))) {
    return missing("a user notification dated before the disablement it tells of");
  }
  for (const auto& f : d.files) {
    if (f.md5.size() != 32 || f.sha256.size() != 64) return missing("every file needs its original MD5 and SHA-256");
    if (f.uploaded_at <= 0) return missing("every file needs its upload time");
    if (!f.classification.empty() && f.classification != "A1" && f.classification != "A2" &&
        f.classification != "B1" && f.classification != "B2") {
      return Fail(ErrorCode::kInvalidArgument, "report: classification '" + f.classification + "' is not A1, A2, B1 or B2");
    }
    if (f.upload_ip && !ValidEvent(f.upload_ip->event)) return missing("an IP capture event has an unknown event name");
  }
  for (const auto& e : d.user.ip_events) {
    if (!ValidEvent(e.event)) return missing("an IP capture event has an unknown event name");
  }
  return {};
}

Result<std::string> BuildReportXml(const ReportDraft& d, const ReporterProfile& r) {
  VIGIL_TRY(ValidateReport(d, r));
  InitLibxml();
  Doc doc(xmlNewDoc(X("1.0")));
  xmlNode* report = xmlNewNode(nullptr, X("report"));
  xmlDocSetRootElement(doc.get(), report);

  xmlNode* summary = Child(report, "incidentSummary");
  Child(summary, "incidentType", r.incident_type);
  if (!r.platform.empty()) Child(summary, "platform", r.platform);
  Child(summary, "incidentDateTime", IsoDateTime(d.incident_at));
  if (!d.incident_description.empty()) Child(summary, "incidentDateTimeDescription", d.incident_description);

  xmlNode* internet = Child(report, "internetDetails");
  xmlNode* web = Child(internet, "webPageIncident");
  Child(web, "additionalInfo", "Files uploaded to " + (r.platform.empty() ? r.company_name : r.platform));

  xmlNode* reporter = Child(report, "reporter");
  xmlNode* person = Child(reporter, "reportingPerson");
  Child(person, "firstName", r.first_name);
  Child(person, "lastName", r.last_name);
  Child(person, "email", r.email);
  if (!r.phone.empty()) Child(person, "phone", r.phone);
  if (!r.contact_email.empty()) Child(Child(reporter, "contactPerson"), "email", r.contact_email);
  if (!r.company_template.empty()) Child(reporter, "companyTemplate", r.company_template);
  if (!r.terms_of_service.empty()) Child(reporter, "termsOfService", r.terms_of_service);
  if (!r.legal_url.empty()) Child(reporter, "legalURL", r.legal_url);

  // The reported person is optional in NCMEC's schema: an upload without a user id (and no screen
  // name or IP) is reported with the person unknown rather than not at all.
  const bool person_known = !d.user.esp_identifier.empty() || !d.user.screen_name.empty() || !d.user.ip_events.empty();
  if (!person_known) {
    if (!d.additional_info.empty()) Child(report, "additionalInfo", d.additional_info);
    return Serialize(doc.get());
  }
  xmlNode* user = Child(report, "personOrUserReported");
  if (!d.user.esp_identifier.empty()) Child(user, "espIdentifier", d.user.esp_identifier);
  if (!d.user.screen_name.empty()) Child(user, "screenName", d.user.screen_name);
  for (const auto& e : d.user.ip_events) IpCapture(user, e);
  auto disabled = [&](const char* name, std::int64_t at, const std::optional<std::int64_t>& notified) {
    xmlNode* node = Child(user, name);
    Attr(node, "disabledDate", IsoDateTime(at));
    Attr(node, "userNotified", notified ? "true" : "false");
    if (notified) Attr(node, "userNotifiedDate", IsoDateTime(*notified));
    if (d.user.reenabled_at) Attr(node, "reenabledDate", IsoDateTime(*d.user.reenabled_at));
  };
  if (d.user.temporarily_disabled_at) {
    disabled("accountTemporarilyDisabled", *d.user.temporarily_disabled_at, d.user.temporarily_notified_at);
  }
  if (d.user.permanently_disabled_at) {
    disabled("accountPermanentlyDisabled", *d.user.permanently_disabled_at, d.user.permanently_notified_at);
  }
  if (!d.additional_info.empty()) Child(report, "additionalInfo", d.additional_info);
  return Serialize(doc.get());
}

Result<std::string> BuildFileDetailsXml(const std::string& report_id, const std::string& file_id, const ReportFile& f,
                                        const ReporterProfile& r) {
  if (report_id.empty() || file_id.empty()) return Fail(ErrorCode::kInvalidArgument, "fileinfo needs a report id and a file id");
  InitLibxml();
  Doc doc(xmlNewDoc(X("1.0")));
  xmlNode* details = xmlNewNode(nullptr, X("fileDetails"));
  xmlDocSetRootElement(doc.get(), details);
  Child(details, "reportId", report_id);
  Child(details, "fileId", file_id);
  Child(details, "fileName", f.file_name);
  Child(details, "originalFileName", f.file_name);
  Child(details, "uploadedToEspTimestamp", IsoDateTime(f.uploaded_at));
  Child(details, "fileViewedByEsp", f.viewed_by_esp ? "true" : "false");
  Child(details, "publiclyAvailable", f.publicly_available ? "true" : "false");
  Child(details, "fileRelevance", "Reported");
  if (r.industry_classification && !f.classification.empty()) Child(details, "industryClassification", f.classification);
  for (const auto& [type, value] : {std::pair<const char*, std::string>{"MD5", f.md5}, {"SHA1", f.sha1}, {"SHA256", f.sha256}}) {
    if (value.empty()) continue;
    xmlNode* hash = Child(details, "originalFileHash", value);
    Attr(hash, "hashType", type);
  }
  if (f.upload_ip) IpCapture(details, *f.upload_ip);
  return Serialize(doc.get());
}

namespace {

// Parses an XML schema file; the collected messages name what was wrong.
struct SchemaFree {
  void operator()(xmlSchema* s) const { xmlSchemaFree(s); }
};
using SchemaPtr = std::unique_ptr<xmlSchema, SchemaFree>;

void CollectError(void* ctx, xmlErrorPtr error) {
  auto* out = static_cast<std::string*>(ctx);
  if (out->size() > 4096 || error == nullptr || error->message == nullptr) return;
  if (error->line > 0) *out += "line " + std::to_string(error->line) + ": ";
  *out += error->message;
}

Result<SchemaPtr> ParseSchema(const std::string& xsd_path, std::string& errors) {
  InitLibxml();
  xmlSchemaParserCtxt* parser = xmlSchemaNewParserCtxt(xsd_path.c_str());
  if (parser == nullptr) return Fail(ErrorCode::kNotFound, xsd_path + ": cannot read the schema");
  xmlSchemaSetParserStructuredErrors(parser, CollectError, &errors);
  SchemaPtr schema(xmlSchemaParse(parser));
  xmlSchemaFreeParserCtxt(parser);
  if (!schema) return Fail(ErrorCode::kInvalidArgument, xsd_path + ": not a usable XML schema: " + errors);
  return schema;
}

}  // namespace

Status CheckSchemaFile(const std::string& xsd_path) {
  std::string errors;
  VIGIL_TRY(ParseSchema(xsd_path, errors));
  return {};
}

Status ValidateAgainstSchema(const std::string& xml, const std::string& xsd_path) {
  std::string errors;
  VIGIL_ASSIGN_OR_RETURN(auto schema, ParseSchema(xsd_path, errors));
  Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "report.xml", nullptr, XML_PARSE_NONET));
  if (!doc) return Fail(ErrorCode::kInvalidArgument, "the report is not well-formed XML");
  xmlSchemaValidCtxt* valid = xmlSchemaNewValidCtxt(schema.get());
  xmlSchemaSetValidStructuredErrors(valid, CollectError, &errors);
  const bool ok = xmlSchemaValidateDoc(valid, doc.get()) == 0;
  xmlSchemaFreeValidCtxt(valid);
  if (!ok) return Fail(ErrorCode::kInvalidArgument, "the report does not validate against " + xsd_path + ": " + errors);
  return {};
}

}  // namespace vigil
