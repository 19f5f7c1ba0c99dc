// Workflow test fixtures (see workflow_fixtures.h).
#include "workflow_fixtures.h"

#include <fstream>

#include <gtest/gtest.h>

namespace vigil::testing {

Category BuiltInCategory(const std::string& id) {
  static const Taxonomy built_in = Taxonomy::BuiltIn();
  const Category* c = built_in.Find(id);
  EXPECT_NE(c, nullptr) << id;
  return c != nullptr ? *c : Category{};
}

ReporterProfile TestReporter() {
  ReporterProfile r;
  r.company_name = "Example Photos Inc.";
  r.first_name = "Dana";
  r.last_name = "Reyes";
  r.email = "safety@example.org";
  r.company_template = "Legal process: legal@example.org. Data retained 1 year.";
  r.platform = "Example Photos";
  return r;
}

MatchRecord ListedMatch(Store& store, const std::string& bank, const std::string& category, const std::string& sha256) {
  if (!store.GetBank(bank)) {
    Bank b;
    b.name = bank;
    b.category = category;
    b.labels = {"stand-ins"};
    auto created = store.CreateBank(b, "test");
    EXPECT_TRUE(created) << created.error().ToString();
  }
  ImportRequest request;
  request.format = "csv";
  request.source = "fixture";
  request.actor = "test";
  ImportOp op;
  op.signal_type = "sha256";
  op.value = sha256;
  op.provenance = {"fixture", "member", "ext-" + sha256.substr(0, 8), "A1"};
  request.ops.push_back(op);
  auto imported = store.Import(bank, std::move(request));
  EXPECT_TRUE(imported) << imported.error().ToString();
  MatchRecord match;
  auto b = store.GetBank(bank);
  match.bank_id = b ? b->id : 0;
  auto entries = store.ListEntries(bank, 0, 100000, false);
  if (entries) {
    for (const auto& e : *entries) {
      if (e.signal_type == "sha256" && e.value == sha256) match.entry_id = e.id;
    }
  }
  EXPECT_NE(match.entry_id, 0);
  match.signal_type = "sha256";
  match.distance = 0;
  return match;
}

Result<RecordedUpload> RecordWithOutcome(Store& store, const ContentRecord& content, const PolicyOutcome& outcome,
                                         const std::filesystem::path& media_dir, const std::string& bytes) {
  UploadPolicy policy;
  policy.evaluate = [outcome](const ContentFacts&) { return outcome; };
  policy.keep_media = [media_dir, bytes](const std::string& sha256) -> Status {
    std::filesystem::create_directories(media_dir);
    std::ofstream(media_dir / sha256, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return {};
  };
  return store.Cases().RecordUpload(content, policy, "system");
}

}  // namespace vigil::testing
