// The decoder sandbox: confined workers hash every image format and the video vectors exactly as
// the service does in-process; hostile input gets the same errors; a forbidden system call, a
// runaway decoder and a memory bomb each stop one worker and the next request is served; workers
// see none of the service's environment; workers are recycled and serve requests concurrently.
#include <gtest/gtest.h>
#include <libheif/heif.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <thread>

#include "sandbox/sandbox_pool.h"
#include "sandbox/seccomp_sandbox.h"
#include "signals/media_hashing.h"
#include "test_images.h"

namespace vigil {
namespace {

using testing::Bytes;

// A HEIF (HEVC) still, encoded with libheif's x265 encoder.
Bytes EncodeHeif(const Image& rgb) {
  heif_context* ctx = heif_context_alloc();
  heif_encoder* encoder = nullptr;
  heif_image* image = nullptr;
  Bytes out;
  if (heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &encoder).code == heif_error_Ok &&
      heif_image_create(static_cast<int>(rgb.width), static_cast<int>(rgb.height), heif_colorspace_RGB,
                        heif_chroma_interleaved_RGB, &image)
              .code == heif_error_Ok &&
      heif_image_add_plane(image, heif_channel_interleaved, static_cast<int>(rgb.width), static_cast<int>(rgb.height), 8)
              .code == heif_error_Ok) {
    int stride = 0;
    std::uint8_t* plane = heif_image_get_plane(image, heif_channel_interleaved, &stride);
    for (std::uint32_t y = 0; y < rgb.height; ++y) std::memcpy(plane + y * stride, rgb.Row(y), rgb.width * 3);
    heif_encoder_set_lossy_quality(encoder, 90);
    if (heif_context_encode_image(ctx, image, encoder, nullptr, nullptr).code == heif_error_Ok) {
      heif_writer writer{};
      writer.writer_api_version = 1;
      writer.write = [](heif_context*, const void* data, size_t size, void* userdata) {
        auto* bytes = static_cast<Bytes*>(userdata);
        bytes->insert(bytes->end(), static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + size);
        return heif_error{heif_error_Ok, heif_suberror_Unspecified, ""};
      };
      heif_context_write(ctx, &writer, &out);
    }
  }
  if (image != nullptr) heif_image_release(image);
  if (encoder != nullptr) heif_encoder_release(encoder);
  heif_context_free(ctx);
  return out;
}

// A worker's answer is checked like input: a compromised decoder cannot smuggle arbitrary text
// into the record or the HTTP reply as a media type or a hash.
TEST(SandboxAnswer, MalformedAnswersAreRefused) {
  HashedMedia good;
  good.media_type = "image/png";
  good.width = good.height = 8;
  good.signals = {{"md5", std::string(32, 'a')}, {"pdq", std::string(64, 'b')}};
  ASSERT_TRUE(HashedMediaFromJson(HashedMediaToJson(good)));
  for (auto mutate : std::vector<void (*)(HashedMedia&)>{
           [](HashedMedia& m) { m.media_type = "text/html"; },
           [](HashedMedia& m) { m.media_type = "image/png<script>"; },
           [](HashedMedia& m) { m.signals["pdq"] = std::string(64, 'z'); },
           [](HashedMedia& m) { m.signals["md5"] = "/etc/passwd"; },
           [](HashedMedia& m) { m.signals["exfiltrate"] = std::string(64, 'a'); }}) {
    HashedMedia bad = good;
    mutate(bad);
    auto parsed = HashedMediaFromJson(HashedMediaToJson(bad));
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorrupt);
  }
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The service's secrets must not reach the workers.
    setenv("VIGIL_VAULT_KEY", "0011223344556677889900112233445566778899001122334455667788990011", 1);
    options_.executable = VIGIL_TEST_CLI;
    options_.workers = 2;
    options_.memory_bytes = 1ull << 30;
    auto pool = sandbox::SandboxPool::Start(options_);
    unsetenv("VIGIL_VAULT_KEY");
    if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
    ASSERT_TRUE(pool) << pool.error().ToString();
    pool_ = std::move(*pool);
  }

  static MediaHashOptions Options() {
    MediaHashOptions o;
    o.extra.dihedral = o.extra.trimmed = true;
    return o;
  }

  // The sandboxed result equals the in-process one, field by field.
  void ExpectSameAsInProcess(const Bytes& bytes, const std::string& what) {
    const auto local = HashMedia(bytes, Options());
    const auto confined = pool_->Hash(bytes, Options());
    ASSERT_EQ(local.has_value(), confined.has_value())
        << what << ": " << (local ? confined.error().ToString() : local.error().ToString());
    if (!local) {
      EXPECT_EQ(local.error().code, confined.error().code) << what;
      EXPECT_EQ(local.error().message, confined.error().message) << what;
      return;
    }
    EXPECT_EQ(local->media_type, confined->media_type) << what;
    EXPECT_EQ(local->width, confined->width) << what;
    EXPECT_EQ(local->height, confined->height) << what;
    EXPECT_EQ(local->signals, confined->signals) << what;
    EXPECT_EQ(local->pdq_quality, confined->pdq_quality) << what;
    EXPECT_EQ(local->extra, confined->extra) << what;
    ASSERT_EQ(local->video.has_value(), confined->video.has_value()) << what;
    if (local->video) {
      ASSERT_EQ(local->video->frames.size(), confined->video->frames.size()) << what;
      for (std::size_t i = 0; i < local->video->frames.size(); ++i) {
        const auto& a = local->video->frames[i];
        const auto& b = confined->video->frames[i];
        EXPECT_TRUE(a.frame == b.frame && a.quality == b.quality && a.pdq == b.pdq && a.timestamp == b.timestamp)
            << what << " frame " << i;
      }
      EXPECT_EQ(local->video->container, confined->video->container);
      EXPECT_EQ(local->video->frames_decoded, confined->video->frames_decoded);
      EXPECT_EQ(local->video->duration_seconds, confined->video->duration_seconds);
    }
  }

  sandbox::PoolOptions options_;
  std::unique_ptr<sandbox::SandboxPool> pool_;
};

TEST_F(SandboxTest, EveryImageFormatHashesAsInProcess) {
  const Image rgb = testing::MakePattern(320, 240, 3, 7);
  const Image grey = testing::MakePattern(200, 150, 1, 3);
  const std::vector<std::pair<std::string, Bytes>> images = {
      {"png", testing::EncodePng(rgb)},
      {"png 16-bit alpha interlaced", testing::EncodePng(rgb, 16, true, false, true)},
      {"png palette", testing::EncodePng(grey, 8, false, true)},
      {"jpeg", testing::EncodeJpeg(rgb, 85)},
      {"jpeg progressive", testing::EncodeJpeg(rgb, 70, true)},
      {"jpeg grey", testing::EncodeJpeg(grey)},
      {"webp", testing::EncodeWebpLossless(rgb)},
      {"gif", testing::EncodeGif(grey)},
      {"bmp", testing::EncodeBmp(rgb)},
      {"tiff", testing::EncodeTiff(rgb)},
      {"heif", EncodeHeif(rgb)},
  };
  for (const auto& [name, bytes] : images) {
    ASSERT_FALSE(bytes.empty()) << name;
    ExpectSameAsInProcess(bytes, name);
  }
  for (const auto& entry : std::filesystem::directory_iterator(testing::SharedDir() / "vectors/pdq/misc-images/modes")) {
    if (entry.path().extension() == ".md") continue;
    ExpectSameAsInProcess(testing::ReadFile(entry.path()), entry.path().filename().string());
  }
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

TEST_F(SandboxTest, VideosHashAsInProcess) {
  int videos = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::SharedDir() / "vectors/vpdq/videos")) {
    if (entry.path().extension() != ".mp4") continue;
    ExpectSameAsInProcess(testing::ReadFile(entry.path()), entry.path().filename().string());
    ++videos;
  }
  EXPECT_GE(videos, 5);
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

TEST_F(SandboxTest, HostileInputGetsTheSameErrors) {
  const Bytes jpeg = testing::EncodeJpeg(testing::MakePattern(256, 256, 3), 90);
  ExpectSameAsInProcess(Bytes(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() / 3)), "truncated jpeg");
  ExpectSameAsInProcess(Bytes{'G', 'I', 'F', '8', '9', 'a', 0xff, 0xff, 0xff, 0xff}, "gif header only");
  ExpectSameAsInProcess(Bytes(1000, 0x41), "not an image");
  Bytes mp4 = testing::ReadFile(testing::SharedDir() / "vectors/vpdq/videos/chair-19-sd-bar.mp4");
  mp4.resize(mp4.size() / 2);
  ExpectSameAsInProcess(mp4, "truncated mp4");
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

TEST_F(SandboxTest, ConfinementHoldsAndTheServiceRecovers) {
  auto env = pool_->Probe("environment", 10);
  ASSERT_TRUE(env) << env.error().ToString();
  EXPECT_EQ(env->at("variables").as_int64(), 0) << "the worker must not inherit the service's environment";
  auto opened = pool_->Probe("open_file", 10);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->at("opened").as_bool());
  auto created = pool_->Probe("write_file", 10);
  ASSERT_TRUE(created);
  EXPECT_FALSE(created->at("created").as_bool());

  auto killed = pool_->Probe("forbidden_syscall", 10);
  ASSERT_FALSE(killed);
  EXPECT_EQ(killed.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(killed.error().message.find("SIGSYS"), std::string::npos) << killed.error().message;

  if (sandbox::MemoryLimitEnforced()) {  // not in sanitizer builds
    auto bomb = pool_->Probe("allocate", 30);
    ASSERT_FALSE(bomb);
    EXPECT_EQ(bomb.error().code, ErrorCode::kResourceExhausted) << bomb.error().message;
  }

  const auto started = std::chrono::steady_clock::now();
  auto spin = pool_->Probe("spin", 1);
  ASSERT_FALSE(spin);
  EXPECT_EQ(spin.error().code, ErrorCode::kTooLarge);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));

  EXPECT_EQ(pool_->Stats().workers_killed, 2);  // the filtered one and the runaway one
  ExpectSameAsInProcess(testing::EncodePng(testing::MakePattern(64, 64, 3)), "after the failures");
}

TEST_F(SandboxTest, WorkersAreRecycledAndServeConcurrently) {
  pool_.reset();
  options_.max_requests_per_worker = 2;
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool);
  pool_ = std::move(*pool);
  const Bytes png = testing::EncodePng(testing::MakePattern(128, 96, 3, 5));
  const auto expected = HashMedia(png, Options());
  ASSERT_TRUE(expected);
  std::vector<std::thread> threads;
  std::atomic<int> good = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto got = pool_->Hash(png, Options());
        good += got && got->signals == expected->signals;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 12);
  const auto stats = pool_->Stats();
  EXPECT_EQ(stats.requests, 12);
  EXPECT_GE(stats.workers_started, 6);  // two requests each
  EXPECT_EQ(stats.workers_killed, 0);
}

// A worker that dies while idle (the OOM killer, an operator's kill) is replaced without failing
// the next upload. Workers run in seccomp filter mode.
TEST_F(SandboxTest, IdleWorkerKilledFromOutsideIsReplaced) {
  const testing::Bytes png = testing::EncodePng(testing::MakePattern(96, 64, 3, 9));
  ASSERT_TRUE(pool_->Hash(png, Options()));
  // Find our worker processes: children of this process running sandbox-worker.
  std::vector<pid_t> workers;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, ppid, seccomp;
    while (std::getline(status, line)) {
      if (line.rfind("PPid:", 0) == 0) ppid = line.substr(5);
      if (line.rfind("Seccomp:", 0) == 0) seccomp = line.substr(8);
    }
    if (ppid.find_first_not_of(" \t") == std::string::npos) continue;
    if (std::stoi(ppid) != getpid()) continue;
    const std::string args = testing::ReadText(entry.path() / "cmdline");
    if (args.find("sandbox-worker") == std::string::npos) continue;
    EXPECT_EQ(seccomp.find_first_not_of(" \t"), seccomp.find('2')) << "Seccomp:" << seccomp << " (2 = filter mode)";
    if (pool_->network_isolated()) {  // best effort where the kernel allows it: then it must hold
      // Readable where we may trace the worker (root); it is not dumpable, so others may not look.
      std::error_code ec;
      const auto theirs = std::filesystem::read_symlink(entry.path() / "ns/net", ec);
      if (ec != std::errc::permission_denied) {
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(theirs.string().rfind("net:[", 0), 0u) << theirs;
        EXPECT_NE(theirs, std::filesystem::read_symlink("/proc/self/ns/net")) << "the worker shares our network namespace";
      }
    }
    workers.push_back(std::stoi(name));
  }
  ASSERT_FALSE(workers.empty());
  for (pid_t pid : workers) kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto again = pool_->Hash(png, Options());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(pool_->Stats().workers_killed, 0) << "no request failed";
}

}  // namespace
}  // namespace vigil
