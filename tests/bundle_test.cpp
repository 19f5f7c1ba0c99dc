// Signed hash sharing between two platforms, each with its own store, on both backends: a bank
// exported by one arrives in the other with its provenance; changes follow in order; tampered,
// replayed, out-of-order and unknown-key bundles are refused and change nothing; a partner trusted
// for review has its bundles held until a curator decides; a full bundle removes only what that
// partner sent; a bundle recorded but not applied (a crash between) is applied when offered again.
#include <gtest/gtest.h>

#include "lists/hash_bundle.h"
#include "reporting/ed25519.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "vigil/hash_list.h"
#include "vigil/legal_package.h"
#include "vigil/sharing.h"
#include "vigil/store.h"
#include "workflow/bundle_sharing.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;

const std::string kPdq1 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const std::string kPdq2 = "f8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const std::string kMd5 = "0123456789abcdef0123456789abcdef";
const std::string kSha = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class BundleTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    a_ = testing::OpenTestStore(GetParam(), dir_a_.path(), pg_a_);
    if (a_ == nullptr) return;
    b_ = testing::OpenTestStore(GetParam(), dir_b_.path(), pg_b_);
    if (b_ == nullptr) return;
    Bank shared;
    shared.name = "shared";
    shared.category = "csam";
    ASSERT_TRUE(a_->CreateBank(shared, "test"));
    Bank from_a;
    from_a.name = "from-a";
    ASSERT_TRUE(b_->CreateBank(from_a, "test"));
    seed_ = NewSigningSeed();
    options_ = {"platform-a", seed_, false, "test"};
  }

  void Import(Store& store, const std::string& bank, const std::string& csv) {
    ListParseOptions parse;
    parse.source = "list.csv";
    auto parsed = ParseHashList("csv", csv, parse);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    ImportRequest request;
    request.format = "csv";
    request.source = "list.csv";
    request.actor = "test";
    request.ops = std::move(parsed->ops);
    auto imported = store.Import(bank, std::move(request));
    ASSERT_TRUE(imported) << imported.error().ToString();
  }

  void Remove(Store& store, const std::string& bank, const std::string& type, const std::string& value) {
    ImportRequest request;
    request.format = "csv";
    request.source = "removal";
    request.actor = "test";
    ImportOp op;
    op.kind = ImportOp::Kind::kRemove;
    op.signal_type = type;
    op.value = value;
    request.ops.push_back(op);
    ASSERT_TRUE(store.Import(bank, std::move(request)));
  }

  void Trust(const std::string& trust, const std::string& name = "platform-a") {
    Partner p;
    p.name = name;
    p.public_key = *SigningPublicKey(seed_);
    p.bank = "from-a";
    p.trust = trust;
    auto added = b_->Sharing().AddPartner(p, "admin");
    ASSERT_TRUE(added) << added.error().ToString();
  }

  std::string Export(bool changes) {
    options_.changes = changes;
    auto exported = ExportBundle(*a_, "shared", options_);
    EXPECT_TRUE(exported) << exported.error().ToString();
    return exported ? exported->document : std::string();
  }

  // The live values of B's bank, as "type:value source member".
  std::vector<std::string> Live() {
    auto entries = b_->ListEntries("from-a", 0, 1000, false);
    EXPECT_TRUE(entries) << entries.error().ToString();
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.signal_type + ":" + e.value.substr(0, 4) + " " + e.provenance.source);
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_a_, dir_b_;
  testing::TestPostgres pg_a_, pg_b_;
  std::unique_ptr<Store> a_, b_;
  std::string seed_;
  BundleExportOptions options_;
};

TEST_P(BundleTest, ABankArrivesWithItsProvenanceAndItsLaterChangesFollowInOrder) {
  Import(*a_, "shared", "signal_type,value,external_id,classification\npdq," + kPdq1 + ",ext-1,A1\nmd5," + kMd5 + ",ext-2,B1\n");
  Trust("live");
  const std::string first = Export(false);
  auto received = ReceiveBundle(*b_, first, "curator");
  ASSERT_TRUE(received) << received.error().ToString();
  EXPECT_EQ(received->record.status, "applied");
  ASSERT_TRUE(received->import);
  EXPECT_EQ(received->import->added, 2);
  EXPECT_EQ(Live(), (std::vector<std::string>{"md5:0123 partner:platform-a/shared", "pdq:d8f8 partner:platform-a/shared"}));
  auto entries = b_->ListEntries("from-a", 0, 10, false);
  ASSERT_TRUE(entries);
  for (const auto& e : *entries) {
    EXPECT_EQ(e.provenance.member, "platform-a");
    EXPECT_FALSE(e.provenance.external_id.empty());
    EXPECT_FALSE(e.provenance.classification.empty());
  }
  auto imports = b_->ListImports("from-a");
  ASSERT_TRUE(imports);
  ASSERT_FALSE(imports->empty());
  EXPECT_NE(imports->front().source.find("bundle 1 of platform-a/shared"), std::string::npos) << imports->front().source;
  EXPECT_NE(imports->front().source.find(Sha256Hex(first)), std::string::npos);

  // The sharer adds one and removes one: the changes bundle carries both.
  Import(*a_, "shared", "pdq," + kPdq2 + "\n");
  Remove(*a_, "shared", "md5", kMd5);
  const std::string second = Export(true);
  auto payload = ParseBundlePayload(ParseBundleEnvelope(second)->payload);
  ASSERT_TRUE(payload) << payload.error().ToString();
  EXPECT_FALSE(payload->full);
  EXPECT_EQ(payload->entries.size(), 1u);
  EXPECT_EQ(payload->removed.size(), 1u);
  received = ReceiveBundle(*b_, second, "curator");
  ASSERT_TRUE(received) << received.error().ToString();
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:d8f8 partner:platform-a/shared", "pdq:f8f8 partner:platform-a/shared"}));
}

TEST_P(BundleTest, ATamperedBundleIsRefusedAndChangesNothing) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("live");
  std::string document = Export(false);
  const auto at = document.find(kPdq1.substr(0, 12));
  ASSERT_NE(at, std::string::npos);
  document[at] = 'e';  // another hash, same length
  auto received = ReceiveBundle(*b_, document, "curator");
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(received.error().message.find("signature does not match"), std::string::npos) << received.error().message;
  EXPECT_TRUE(Live().empty());
  EXPECT_TRUE(b_->Sharing().ListReceived("", 10)->empty());
}

TEST_P(BundleTest, ABundleSignedByAKeyNoPartnerHoldsIsRefused) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  const std::string document = Export(false);  // nobody trusts platform-a's key yet
  auto received = ReceiveBundle(*b_, document, "curator");
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(received.error().message.find("no partner holds"), std::string::npos) << received.error().message;
  EXPECT_TRUE(Live().empty());
}

TEST_P(BundleTest, ReplayedAndOutOfOrderBundlesAreRefused) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("live");
  const std::string one = Export(false);
  Import(*a_, "shared", "pdq," + kPdq2 + "\n");
  const std::string two = Export(true);
  Remove(*a_, "shared", "pdq", kPdq1);
  const std::string three = Export(true);
  ASSERT_TRUE(ReceiveBundle(*b_, one, "curator"));
  auto replay = ReceiveBundle(*b_, one, "curator");
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kAlreadyExists);
  auto skipped = ReceiveBundle(*b_, three, "curator");
  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(skipped.error().message.find("bundle 2 is missing"), std::string::npos) << skipped.error().message;
  ASSERT_TRUE(ReceiveBundle(*b_, two, "curator"));
  ASSERT_TRUE(ReceiveBundle(*b_, three, "curator"));
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:f8f8 partner:platform-a/shared"}));
  auto old = ReceiveBundle(*b_, two, "curator");
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("replay"), std::string::npos) << old.error().message;
}

TEST_P(BundleTest, APartnerTrustedForReviewHasItsBundlesHeldUntilACuratorDecides) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("review");
  const std::string one = Export(false);
  Import(*a_, "shared", "pdq," + kPdq2 + "\n");
  const std::string two = Export(true);
  auto held = ReceiveBundle(*b_, one, "curator");
  ASSERT_TRUE(held) << held.error().ToString();
  EXPECT_EQ(held->record.status, "held");
  EXPECT_TRUE(Live().empty()) << "nothing matches before a curator approves";
  auto held_two = ReceiveBundle(*b_, two, "curator");
  ASSERT_TRUE(held_two);
  auto early = ApproveBundle(*b_, held_two->record.id, "curator");
  ASSERT_FALSE(early) << "bundle 1 first";
  auto approved = ApproveBundle(*b_, held->record.id, "curator");
  ASSERT_TRUE(approved) << approved.error().ToString();
  EXPECT_EQ(approved->record.status, "applied");
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:d8f8 partner:platform-a/shared"}));
  ASSERT_TRUE(RejectBundle(*b_, held_two->record.id, "curator"));
  EXPECT_EQ(b_->Sharing().GetReceived(held_two->record.id)->status, "rejected");
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:d8f8 partner:platform-a/shared"}));
  // After a rejected bundle, changes cannot follow; a full bundle can.
  Remove(*a_, "shared", "pdq", kPdq1);
  auto after_rejected = ReceiveBundle(*b_, Export(true), "curator");
  ASSERT_FALSE(after_rejected);
  EXPECT_NE(after_rejected.error().message.find("rejected"), std::string::npos) << after_rejected.error().message;
  auto full = ReceiveBundle(*b_, Export(false), "curator");
  ASSERT_TRUE(full) << full.error().ToString();
  ASSERT_TRUE(ApproveBundle(*b_, full->record.id, "curator"));
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:f8f8 partner:platform-a/shared"}));
}

TEST_P(BundleTest, AFullBundleRemovesOnlyWhatThatPartnerSent) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\nsha256," + kSha + "\n");
  Trust("live");
  ASSERT_TRUE(ReceiveBundle(*b_, Export(false), "curator"));
  Import(*b_, "from-a", "md5," + kMd5 + "\n");  // the receiving platform's own list, same bank
  Remove(*a_, "shared", "sha256", kSha);
  // The partner lists the local list's value too: it is left as the list's (a trial saw it
  // relabelled as the partner's, and the next full bundle without it removed it).
  Import(*a_, "shared", "md5," + kMd5 + "\n");
  auto full = ReceiveBundle(*b_, Export(false), "curator");
  ASSERT_TRUE(full) << full.error().ToString();
  EXPECT_EQ(full->import->removed, 1);
  EXPECT_EQ(full->skipped_adds, 1);
  EXPECT_EQ(Live(), (std::vector<std::string>{"md5:0123 list.csv", "pdq:d8f8 partner:platform-a/shared"}));
  Remove(*a_, "shared", "md5", kMd5);
  ASSERT_TRUE(ReceiveBundle(*b_, Export(false), "curator"));
  EXPECT_EQ(Live(), (std::vector<std::string>{"md5:0123 list.csv", "pdq:d8f8 partner:platform-a/shared"}));
}

// Changes held for review apply on top of the bundle before them: after that one is rejected, the
// next is refused at approval too (a trial approved it, its predecessor's changes missing).
TEST_P(BundleTest, HeldChangesAfterARejectedBundleCannotBeApproved) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("review");
  auto one = ReceiveBundle(*b_, Export(false), "curator");
  ASSERT_TRUE(one);
  ASSERT_TRUE(ApproveBundle(*b_, one->record.id, "curator"));
  Import(*a_, "shared", "pdq," + kPdq2 + "\n");
  auto two = ReceiveBundle(*b_, Export(true), "curator");
  Import(*a_, "shared", "md5," + kMd5 + "\n");
  auto three = ReceiveBundle(*b_, Export(true), "curator");
  ASSERT_TRUE(two && three);
  ASSERT_TRUE(RejectBundle(*b_, two->record.id, "curator"));
  auto approved = ApproveBundle(*b_, three->record.id, "curator");
  ASSERT_FALSE(approved);
  EXPECT_NE(approved.error().message.find("rejected"), std::string::npos) << approved.error().message;
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:d8f8 partner:platform-a/shared"}));
}

// Replay protection follows the key: a partner removed and added again under another name (to
// change its trust) cannot be sent its old bundles again.
TEST_P(BundleTest, APartnerAddedAgainCannotBeReplayedItsOldBundles) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("live");
  const std::string one = Export(false);
  ASSERT_TRUE(ReceiveBundle(*b_, one, "curator"));
  ASSERT_TRUE(b_->Sharing().RemovePartner("platform-a", "admin"));
  Trust("live", "platform-a2");
  auto replay = ReceiveBundle(*b_, one, "curator");
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kAlreadyExists);
}

// A value not in its normal form is refused when the bundle arrives, naming the entry, not when
// a curator approves it (which would reject it and stop the partner's changes).
TEST_P(BundleTest, ABundleWithAValueNotInItsNormalFormIsRefusedOnArrival) {
  Trust("review");
  HashBundle bundle;
  bundle.sharer = "platform-a";
  bundle.bank = "shared";
  bundle.sequence = 1;
  std::string upper = kPdq1;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  bundle.entries.push_back({"pdq", kPdq2, "", {}, 0, 0});
  bundle.entries.push_back({"pdq", upper, "", {}, 0, 0});
  BundleEnvelope envelope;
  envelope.payload = WriteBundlePayload(bundle);
  envelope.signer = *SigningPublicKey(seed_);
  envelope.signature = *reporting::Ed25519Sign(seed_, envelope.payload);
  auto received = ReceiveBundle(*b_, WriteBundleEnvelope(envelope), "curator");
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(received.error().message.find("entries[1]"), std::string::npos) << received.error().message;
  EXPECT_TRUE(b_->Sharing().ListReceived("", 10)->empty());
}

TEST_P(BundleTest, ABundleRecordedButNotAppliedIsAppliedWhenOfferedAgain) {
  Import(*a_, "shared", "pdq," + kPdq1 + "\n");
  Trust("live");
  const std::string document = Export(false);
  // What a crash between recording the bundle and importing it leaves.
  auto partner = b_->Sharing().PartnerByKey(*SigningPublicKey(seed_));
  ASSERT_TRUE(partner);
  ReceivedBundle r;
  r.partner_id = partner->id;
  r.sharer = "platform-a";
  r.sharer_bank = "shared";
  r.sequence = 1;
  r.kind = "full";
  r.sha256 = Sha256Hex(document);
  r.signer = partner->public_key;
  r.status = "applying";
  r.received_by = "curator";
  ASSERT_TRUE(b_->Sharing().RecordReceived(r));
  EXPECT_TRUE(Live().empty());
  auto again = ReceiveBundle(*b_, document, "curator");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->record.status, "applied");
  EXPECT_EQ(Live(), (std::vector<std::string>{"pdq:d8f8 partner:platform-a/shared"}));
}

TEST_P(BundleTest, PartnersAreCheckedWhenAdded) {
  Partner p;
  p.name = "Bad Name";
  p.public_key = *SigningPublicKey(seed_);
  p.bank = "from-a";
  EXPECT_EQ(b_->Sharing().AddPartner(p, "admin").error().code, ErrorCode::kInvalidArgument);
  p.name = "ok";
  p.public_key = "zz";
  EXPECT_EQ(b_->Sharing().AddPartner(p, "admin").error().code, ErrorCode::kInvalidArgument);
  p.public_key = *SigningPublicKey(seed_);
  p.bank = "missing";
  EXPECT_EQ(b_->Sharing().AddPartner(p, "admin").error().code, ErrorCode::kNotFound);
  p.bank = "from-a";
  ASSERT_TRUE(b_->Sharing().AddPartner(p, "admin"));
  p.name = "other";
  EXPECT_EQ(b_->Sharing().AddPartner(p, "admin").error().code, ErrorCode::kAlreadyExists) << "the same key twice";
}

INSTANTIATE_TEST_SUITE_P(Backends, BundleTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

// The parser alone: hostile documents are refused with the field named.
TEST(BundleParser, MalformedEnvelopesAndPayloadsAreRefusedNamingTheField) {
  EXPECT_FALSE(ParseBundleEnvelope("not json"));
  EXPECT_FALSE(ParseBundleEnvelope("[]"));
  EXPECT_NE(ParseBundleEnvelope(R"({"vigil_bundle":2,"signer":"","signature":"","payload":""})").error().message.find("version 1"),
            std::string::npos);
  EXPECT_NE(ParseBundleEnvelope(R"({"vigil_bundle":1,"signer":"a","signature":"b","payload":"c","x":1})").error().message.find("unknown field 'x'"),
            std::string::npos);
  EXPECT_NE(ParseBundleEnvelope(R"({"vigil_bundle":1,"signer":"a","signature":"b","payload":"c"})", {.max_bytes = 10}).error().message.find("larger than"),
            std::string::npos);
  HashBundle b;
  b.sharer = "s";
  b.bank = "k";
  b.sequence = 1;
  b.entries.push_back({"pdq", kPdq1, "", {"src", "m", "e", "c"}, 3, 1});
  const std::string good = WriteBundlePayload(b);
  auto back = ParseBundlePayload(good);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->entries.at(0).confirmed, 3);
  EXPECT_EQ(back->entries.at(0).provenance.classification, "c");
  auto bad = [&](std::string from, std::string to) {
    std::string text = good;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    auto r = ParseBundlePayload(text);
    EXPECT_FALSE(r) << text;
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(bad("\"sequence\":1", "\"sequence\":0").find("sequence"), std::string::npos);
  EXPECT_NE(bad("\"confirmed\":3", "\"confirmed\":-3").find("entries[0]: 'confirmed'"), std::string::npos);
  EXPECT_NE(bad("\"signal_type\":\"pdq\"", "\"signal_type\":7").find("entries[0]: 'signal_type' must be a string"), std::string::npos);
  EXPECT_NE(bad("\"kind\":\"full\"", "\"kind\":\"some\"").find("kind"), std::string::npos);
  EXPECT_NE(bad("\"removed\":[]", "\"removed\":[{\"signal_type\":\"pdq\",\"value\":\"x\"}]").find("full bundle"), std::string::npos);
  EXPECT_NE(bad("\"sharer\":\"s\"", "\"sharer\":\"s\",\"sharer\":\"t\"").find("duplicate"), std::string::npos);
  EXPECT_FALSE(ParseBundlePayload(good, {.max_bytes = 1 << 20, .max_entries = 0}));
}

}  // namespace
}  // namespace vigil
