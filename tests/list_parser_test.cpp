// The hash-list parsers name the line (or record) of what was wrong, deep in a large list: line
// numbers are tracked as each parse advances (issue 14: NCMEC XML counted from the start of the
// document for every record, quadratic), and these pin that the incremental count stays exact
// through comments, blank lines, CRLF endings, multi-line records and records applied out of
// document order. The cost per record is bench/list_parse_bench's to check.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "util/line_reader.h"
#include "vigil/hash_list.h"

namespace vigil {
namespace {

constexpr int kRecords = 10'000;

// A synthetic 64-digit hex value (never a real hash).
std::string Hex64(int seed) {
  char text[80];
  const auto x = 0x9e3779b97f4a7c15ull * static_cast<unsigned long long>(seed + 1);
  std::snprintf(text, sizeof text, "%016llx%016llx%016llx%016llx", x, x ^ 0xffull, x >> 3, ~x);
  return text;
}

std::string Hex32(int seed) { return Hex64(seed).substr(0, 32); }

// A document built piece by piece, counting its lines as it grows.
struct Doc {
  std::string data;
  std::int64_t line = 1;  // the line the next piece starts on
  void Add(const std::string& text) {
    data += text;
    for (char c : text) line += c == '\n' ? 1 : 0;
  }
};

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

ListParseOptions Options(const std::string& source) {
  ListParseOptions options;
  options.source = source;
  return options;
}

// ---- csv, text, hma -------------------------------------------------------------------------

struct LineList {
  std::string data;
  std::vector<std::int64_t> lines;  // record i's line at [i - 1]
};

// kRecords rows of `format` with comments, blank and whitespace-only lines and CRLF endings mixed
// in; row `bad` (1-based; 0: none) has a malformed value.
LineList MakeLineList(const std::string& format, int bad) {
  Doc doc;
  LineList out;
  auto put = [&](const std::string& text, bool crlf) { doc.Add(text + (crlf ? "\r\n" : "\n")); };
  if (format == "csv") put("signal_type,value,external_id,classification", false);
  if (format == "hma") put("bank_member_id,signal_type,signal_value,tags", true);
  for (int i = 1; i <= kRecords; ++i) {
    if (i % 7 == 0) put("# comment before row " + std::to_string(i), false);
    if (i % 11 == 0) put("", i % 2 == 0);
    if (i % 13 == 0) put(" \t ", false);
    const std::string value = i == bad ? "zz" : Hex64(i);
    const std::string n = std::to_string(i);
    out.lines.push_back(doc.line);
    if (format == "csv") put("pdq," + value + ",row-" + n + ",A1", i % 5 == 0);
    else if (format == "hma") put(n + ",pdq," + value + ",tag", i % 5 == 0);
    else put(i % 3 == 0 ? "  " + value + "\t" : value, i % 5 == 0);
  }
  out.data = std::move(doc.data);
  return out;
}

TEST(ListParser, LineFormatsNumberEveryRowDeepInTheList) {
  for (const std::string format : {"csv", "text", "hma"}) {
    SCOPED_TRACE(format);
    const LineList list = MakeLineList(format, 0);
    auto parsed = ParseHashList(format, list.data, Options("big." + format));
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    ASSERT_EQ(parsed->ops.size(), static_cast<std::size_t>(kRecords));
    for (std::size_t i = 0; i < parsed->ops.size(); ++i) {
      ASSERT_EQ(parsed->ops[i].line, list.lines[i]) << "row " << i + 1;
      ASSERT_EQ(parsed->ops[i].value, Hex64(static_cast<int>(i) + 1));
    }
  }
}

TEST(ListParser, LineFormatsNameTheLineOfABadRowDeepInTheList) {
  for (const std::string format : {"csv", "text", "hma"}) {
    SCOPED_TRACE(format);
    const LineList list = MakeLineList(format, kRecords / 2);
    const std::string where = "big." + format + ": line " + std::to_string(list.lines[kRecords / 2 - 1]) + ": ";
    auto parsed = ParseHashList(format, list.data, Options("big." + format));
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(Contains(parsed.error().message, where + "pdq value must be 64 hex digits")) << parsed.error().message;

    // Read as an import reads it: the rows before it come out first.
    auto reader = OpenHashList(format, list.data, Options("big." + format));
    ASSERT_TRUE(reader) << reader.error().ToString();
    ImportOp op;
    for (int i = 1; i < kRecords / 2; ++i) {
      auto more = (*reader)->Next(op);
      ASSERT_TRUE(more && *more) << "row " << i;
    }
    auto failed = (*reader)->Next(op);
    ASSERT_FALSE(failed);
    EXPECT_TRUE(Contains(failed.error().message, where)) << failed.error().message;
  }
}

// ---- ncmec ----------------------------------------------------------------------------------

struct NcmecList {
  std::string data;
  std::vector<std::int64_t> lines;             // record i's start tag's line at [i - 1]
  std::vector<std::int64_t> fingerprint_lines;  // its <md5>'s line
};

// kRecords records, their timestamps descending in document order (so they are applied in reverse),
// laid out on varying numbers of lines (comments, a classification on some, CRLF on some, some
// records starting on the line the previous one ended). `broken`: record -> what is wrong with it:
// "value" (a bad md5), "id" (no <id>), "xml" (a mismatched end tag).
NcmecList MakeNcmecList(const std::map<int, std::string>& broken) {
  Doc doc;
  NcmecList out;
  doc.Add("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\r\n"
          "<images count=\"" + std::to_string(kRecords) + "\" maxTimestamp=\"2026-12-31T00:00:00Z\">\n");
  for (int i = 1; i <= kRecords; ++i) {
    const auto it = broken.find(i);
    const std::string fault = it == broken.end() ? "" : it->second;
    const bool deleted = i % 50 == 0;
    const std::string tag = deleted ? "deletedImage" : "image";
    char stamp[40];
    std::snprintf(stamp, sizeof stamp, "2026-01-01T00:00:00.%07dZ", kRecords - i);
    if (i % 4 != 0) doc.Add("  ");
    out.lines.push_back(doc.line);
    doc.Add("<" + tag + ">\n    <member id=\"42\">Member</member>\n");
    if (i % 6 == 0) doc.Add("    <!-- a comment\n         over two lines -->\n");
    doc.Add("    <timestamp>" + std::string(stamp) + "</timestamp>" + (i % 5 == 0 ? "\r\n" : "\n"));
    if (fault != "id") doc.Add("    <id>img-" + std::to_string(i) + "</id>\n");
    if (i % 3 == 0) doc.Add("    <classification>A1</classification>\n");
    if (!deleted) {
      doc.Add("    <fingerprints>\n");
      out.fingerprint_lines.push_back(doc.line);
      doc.Add("      <md5>" + (fault == "value" ? std::string("zz") : Hex32(i)) + (fault == "xml" ? "</md6>\n" : "</md5>\n"));
      doc.Add("      <pdq>" + Hex64(i) + "</pdq></fingerprints>\n");
    } else {
      out.fingerprint_lines.push_back(0);
    }
    doc.Add("  </" + tag + ">" + (i % 4 == 3 ? "" : "\n"));  // the next record starts on this line when i % 4 == 3
  }
  doc.Add("</images>\n</queryResult>\n");
  out.data = std::move(doc.data);
  return out;
}

TEST(ListParser, NcmecNumbersEveryRecordDeepInTheDocument) {
  const NcmecList list = MakeNcmecList({});
  auto parsed = ParseHashList("ncmec", list.data, Options("big.xml"));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->checkpoint.value_or(""), "2026-12-31T00:00:00Z");
  // Applied newest-last: the last record in the document comes first.
  ASSERT_FALSE(parsed->ops.empty());
  EXPECT_EQ(parsed->ops.front().provenance.external_id, "img-" + std::to_string(kRecords));
  EXPECT_EQ(parsed->ops.back().provenance.external_id, "img-1");
  std::set<std::string> seen;
  for (const auto& op : parsed->ops) {
    const int record = std::stoi(op.provenance.external_id.substr(4));
    ASSERT_EQ(op.line, list.lines[static_cast<std::size_t>(record - 1)]) << op.provenance.external_id;
    seen.insert(op.provenance.external_id);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRecords));
}

TEST(ListParser, NcmecNamesTheLineOfABadRecordDeepInTheDocument) {
  // Two bad records: the one applied first (the later in the document, being older) is named.
  {
    const NcmecList list = MakeNcmecList({{3001, "value"}, {7001, "value"}});
    auto parsed = ParseHashList("ncmec", list.data, Options("big.xml"));
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(Contains(parsed.error().message,
                         "big.xml: line " + std::to_string(list.lines[7000]) + ": md5 value must be 32 hex digits"))
        << parsed.error().message;
  }
  {
    const NcmecList list = MakeNcmecList({{kRecords / 2 + 1, "id"}});
    auto parsed = ParseHashList("ncmec", list.data, Options("big.xml"));
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(Contains(parsed.error().message,
                         "big.xml: line " + std::to_string(list.lines[kRecords / 2]) + ": record without an <id>"))
        << parsed.error().message;
  }
  {
    const NcmecList list = MakeNcmecList({{kRecords / 2 + 1, "xml"}});
    auto parsed = ParseHashList("ncmec", list.data, Options("big.xml"));
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(Contains(parsed.error().message,
                         "big.xml: line " + std::to_string(list.fingerprint_lines[kRecords / 2]) +
                             ": malformed XML: "))
        << parsed.error().message;
  }
}

// Records apply in the byte order of their timestamps (a prefix first, equal ones in document
// order), also past the bytes the sort keeps inline.
TEST(ListParser, NcmecAppliesRecordsInTimestampOrder) {
  const std::string long_prefix(40, '2');
  const std::vector<std::pair<std::string, std::string>> records = {
      {"a", long_prefix + "9"},  {"b", long_prefix + "10"}, {"c", "2026-01-02"},         {"d", "2026-01-01T00:00:00Z"},
      {"e", "2026-01-01"},       {"f", ""},                 {"g", "2026-01-01T00:00:00Z"}, {"h", long_prefix},
      {"i", long_prefix + "10"}, {"j", "2026-01-01T00:00:00Z\xc3\xa9"},
  };
  std::string xml = "<queryResult><images>\n";
  for (const auto& [id, stamp] : records) {
    xml += "<deletedImage><id>" + id + "</id>" + (stamp.empty() ? "" : "<timestamp>" + stamp + "</timestamp>") +
           "</deletedImage>\n";
  }
  xml += "</images></queryResult>\n";
  auto parsed = ParseHashList("ncmec", xml, Options("order.xml"));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  std::string order;
  for (const auto& op : parsed->ops) {
    order += op.provenance.external_id;
    EXPECT_EQ(op.line, 2 + (op.provenance.external_id[0] - 'a'));
  }
  EXPECT_EQ(order, "fedgjchbia");
}

// ---- stopncii -------------------------------------------------------------------------------

std::string StopNciiList(int bad) {
  std::string json = "{\"nextSetTimestamp\":1700000000,\"hashRecords\":[\n";
  for (int i = 1; i <= kRecords; ++i) {
    if (i > 1) json += ",\n";
    if (i == bad && bad % 2 == 1) {
      json += "[\"not an object\"]";
      continue;
    }
    json += "{\"lastModtimestamp\":" + std::to_string(kRecords - i) +
            ",\"signalType\":\"ImagePDQ\",\"hashValue\":\"" + (i == bad ? "zz" : Hex64(i)) +
            "\",\"hashStatus\":\"Active\",\"caseNumbers\":{\"c" + std::to_string(i) + "\":\"Active\"}}";
  }
  return json + "\n]}\n";
}

TEST(ListParser, StopNciiNamesTheRecordDeepInTheList) {
  auto parsed = ParseHashList("stopncii", StopNciiList(0), Options("ncii.json"));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->ops.size(), static_cast<std::size_t>(kRecords));
  for (std::size_t k = 0; k < parsed->ops.size(); ++k) {  // applied oldest first: the last record first
    ASSERT_EQ(parsed->ops[k].line, kRecords - static_cast<std::int64_t>(k));
    ASSERT_EQ(parsed->ops[k].provenance.external_id, "c" + std::to_string(kRecords - k));
  }
  auto bad_value = ParseHashList("stopncii", StopNciiList(kRecords / 2), Options("ncii.json"));
  ASSERT_FALSE(bad_value);
  EXPECT_TRUE(Contains(bad_value.error().message,
                       "ncii.json: record " + std::to_string(kRecords / 2) + ": pdq value must be 64 hex digits"))
      << bad_value.error().message;
  auto not_object = ParseHashList("stopncii", StopNciiList(kRecords / 2 + 1), Options("ncii.json"));
  ASSERT_FALSE(not_object);
  EXPECT_TRUE(Contains(not_object.error().message,
                       "ncii.json: record " + std::to_string(kRecords / 2 + 1) + " is not an object"))
      << not_object.error().message;
}

// ---- vpdq -----------------------------------------------------------------------------------

TEST(ListParser, VpdqNamesTheLineOfABadFrameDeepInTheList) {
  std::string text;
  std::int64_t line = 0, bad_line = 0;
  for (int i = 0; i < kRecords; ++i) {
    if (i % 9 == 8) {
      text += "\n";
      ++line;
    }
    const bool bad = i == kRecords / 2;
    text += std::to_string(i) + "," + (bad ? "101" : "80") + "," + Hex64(i) + "," + std::to_string(i) + ".000" +
            (i % 5 == 0 ? "\r\n" : "\n");
    ++line;
    if (bad) bad_line = line;
  }
  ListParseOptions options = Options("clip.vpdq");
  options.external_id = "clip-1";
  auto parsed = ParseHashList("vpdq", text, options);
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(Contains(parsed.error().message, "clip.vpdq: vpdq line " + std::to_string(bad_line) + ": bad quality"))
      << parsed.error().message;
}

// ---- the line counter itself ----------------------------------------------------------------

TEST(ListParser, LineCounterCountsOnFromTheLastOffset) {
  const std::string data = "a\nb\n\nc";
  LineCounter lines(data);
  EXPECT_EQ(lines.LineOf(0), 1);
  EXPECT_EQ(lines.LineOf(1), 1);  // the '\n' ending line 1
  EXPECT_EQ(lines.LineOf(2), 2);
  EXPECT_EQ(lines.LineOf(5), 4);
  EXPECT_EQ(lines.LineOf(100), 4);  // past the end: the last line
  EXPECT_EQ(lines.LineOf(-1), 0);   // no offset
  EXPECT_EQ(lines.LineOf(3), 2);    // backwards still exact
  EXPECT_EQ(lines.LineOf(4), 3);
  EXPECT_EQ(LineCounter(data).LineOf(6), 4);
}

// ---- DTDs ------------------------------------------------------------------------------------

// An NCMEC document whose DOCTYPE declares `entities` and whose one record's <id> is `id`.
std::string NcmecWithDoctype(const std::string& entities, const std::string& id) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE queryResult [\n" + entities +
         "]>\n<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\n"
         "<images count=\"1\" maxTimestamp=\"2026-12-31T00:00:00Z\">\n<image>\n"
         "  <member id=\"42\">Member</member>\n  <timestamp>2026-01-01T00:00:00Z</timestamp>\n"
         "  <id>" + id + "</id>\n  <fingerprints><md5>" + Hex32(1) + "</md5></fingerprints>\n</image>\n"
         "</images>\n</queryResult>\n";
}

// XXE: an external entity naming a local file is never read; no DTD is processed, so its
// reference stays text (or the record is refused), never the file's contents.
TEST(ListParser, NcmecExternalEntityIsNeverResolved) {
  auto parsed = ParseHashList(
      "ncmec", NcmecWithDoctype("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n", "&xxe;"), Options("xxe.xml"));
  if (!parsed) {  // refusing the document is as good, if it says which
    EXPECT_TRUE(Contains(parsed.error().message, "xxe.xml")) << parsed.error().message;
    return;
  }
  ASSERT_FALSE(parsed->ops.empty());
  for (const auto& op : parsed->ops) EXPECT_EQ(op.provenance.external_id, "&xxe;");  // the text, not the file
}

// Billion laughs: nested internal entities are not expanded, so a 1 KB document stays 1 KB of work.
TEST(ListParser, NcmecNestedEntitiesAreNotExpanded) {
  std::string entities = "<!ENTITY lol0 \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    std::string refs;
    for (int j = 0; j < 10; ++j) refs += "&lol" + std::to_string(i - 1) + ";";
    entities += "<!ENTITY lol" + std::to_string(i) + " \"" + refs + "\">\n";
  }
  auto parsed = ParseHashList("ncmec", NcmecWithDoctype(entities, "&lol9;"), Options("laughs.xml"));
  if (!parsed) {
    EXPECT_TRUE(Contains(parsed.error().message, "laughs.xml")) << parsed.error().message;
    return;
  }
  ASSERT_FALSE(parsed->ops.empty());
  for (const auto& op : parsed->ops) EXPECT_EQ(op.provenance.external_id, "&lol9;") << op.provenance.external_id.size();
}

// ---- text that people read ---------------------------------------------------------------

// The attack pass: an external id of bytes that are not UTF-8, or a character reference past
// U+10FFFF or to a surrogate, was stored and echoed raw in JSON answers. Refused at its line.
TEST(ListParser, ProvenanceThatIsNotUtf8OrHoldsControlCharactersIsRefusedAtItsLine) {
  auto csv = ParseHashList("csv", "sha256," + Hex64(1) + ",ok,A1\nsha256," + Hex64(2) + ",\xff\xfe,A1\n", Options("bad.csv"));
  ASSERT_FALSE(csv);
  EXPECT_TRUE(Contains(csv.error().message, "line 2")) << csv.error().message;
  EXPECT_TRUE(Contains(csv.error().message, "UTF-8")) << csv.error().message;
  auto bell = ParseHashList("csv", "sha256," + Hex64(1) + ",a\x07" "b,A1\n", Options("bell.csv"));
  ASSERT_FALSE(bell);
  EXPECT_TRUE(Contains(bell.error().message, "control character")) << bell.error().message;
  for (const std::string ref : {"&#x110000;", "&#xD800;"}) {
    auto xml = ParseHashList("ncmec", NcmecWithDoctype("", "a" + ref), Options("refs.xml"));
    EXPECT_FALSE(xml) << ref << " accepted";
  }
  EXPECT_TRUE(ParseHashList("ncmec", NcmecWithDoctype("", "caf\xc3\xa9"), Options("ok.xml")));
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// A CSV saved by a spreadsheet starts with a UTF-8 byte-order mark; it is not part of the header
// (a trial's list failed with "unknown signal type '\ufeffsignal_type'").
TEST(ListParser, AByteOrderMarkBeforeACsvHeaderIsNotPartOfIt) {
  const std::string csv = "\xEF\xBB\xBFsignal_type,value\nmd5,0123456789abcdef0123456789abcdef\n";
  auto parsed = ParseHashList("csv", csv, ListParseOptions{});
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->ops.size(), 1u);
  EXPECT_EQ(parsed->ops[0].signal_type, "md5");
}

}  // namespace
}  // namespace vigil
