// Parsing NCMEC's answers (reportResponse / reportDoneResponse XML) with libxml2. The answer is
// untrusted input: it is size-checked, parsed without network access or entity expansion, and
// every number is range-checked (fuzzed by fuzz/fuzz_cybertip_response.cpp).
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <charconv>
#include <climits>
#include <memory>

#include "vigil/cybertip_client.h"

namespace vigil {
namespace {

constexpr std::size_t kMaxAnswerBytes = 1 << 20;  // NCMEC's answers are a few hundred bytes
constexpr std::size_t kMaxFieldBytes = 4096;
constexpr std::size_t kMaxFileIds = 100'000;

std::string Text(xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  if (out.size() > kMaxFieldBytes) out.resize(kMaxFieldBytes);
  return out;
}

// A response code: digits only (surrounding whitespace allowed), 0..99999.
int ParseCode(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return -1;
  text = text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  int code = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || end != text.data() + text.size() || code < 0 || code > 99'999) return -1;
  return code;
}

}  // namespace

Result<CyberTipResponse> ParseCyberTipResponse(const std::string& xml) {
  if (xml.size() > kMaxAnswerBytes) {
    return Fail(ErrorCode::kCorrupt, "the CyberTipline answer is " + std::to_string(xml.size()) + " bytes (limit " +
                                         std::to_string(kMaxAnswerBytes) + ")");
  }
  std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "response.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  if (!doc) return Fail(ErrorCode::kCorrupt, "the CyberTipline answered with something that is not XML");
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) return Fail(ErrorCode::kCorrupt, "the CyberTipline answer has no root element");
  CyberTipResponse r;
  bool has_code = false;
  for (xmlNode* node = root->children; node != nullptr; node = node->next) {
    if (node->type != XML_ELEMENT_NODE) continue;
    const std::string name = reinterpret_cast<const char*>(node->name);
    if (name == "responseCode") {
      r.code = ParseCode(Text(node));
      if (r.code < 0) return Fail(ErrorCode::kCorrupt, "the CyberTipline answer's responseCode is not a number");
      has_code = true;
    } else if (name == "responseDescription") {
      r.description = Text(node);
    } else if (name == "reportId") {
      r.report_id = Text(node);
    } else if (name == "fileId") {
      r.file_id = Text(node);
    } else if (name == "hash") {
      r.hash = Text(node);
    } else if (name == "files") {
      for (xmlNode* f = node->children; f != nullptr; f = f->next) {
        if (f->type != XML_ELEMENT_NODE) continue;
        if (r.file_ids.size() >= kMaxFileIds) return Fail(ErrorCode::kCorrupt, "the CyberTipline answer lists too many files");
        r.file_ids.push_back(Text(f));
      }
    }
  }
  if (!has_code) return Fail(ErrorCode::kCorrupt, "the CyberTipline answer has no responseCode");
  return r;
}

}  // namespace vigil
