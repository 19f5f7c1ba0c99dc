// The decoder sandbox: confined workers hash every image format and the video vectors exactly as
// the service does in-process; hostile input gets the same errors; a forbidden system call, a
// runaway decoder, a decode over its CPU budget and a memory bomb each stop one worker and the
// next request is served; workers see none of the service's environment, run as an unprivileged
// user without capabilities, in PID and mount namespaces of their own where the kernel allows,
// with their stderr a pipe the service logs, and cannot touch another process's limits; workers
// are recycled and serve requests concurrently; large images and videos are decoded in a lane of
// their own, as are images past a megapixel whose size their bytes cannot bound; bombs are refused
// from their header, and small uploads sent meanwhile are served (how long they wait is measured
// by bench/sandbox_bench --lanes, not here). AV1 decoders naming their threads are not killed.
#include <gtest/gtest.h>
#include <libheif/heif.h>  // heif_compression_AV1, heif_have_encoder_for_format
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <signal.h>
#include <thread>

#include "sandbox/sandbox_pool.h"
#include "sandbox/seccomp_sandbox.h"
#include "service_harness.h"
#include "signals/media_hashing.h"
#include "test_images.h"

namespace vigil {
namespace {

using testing::Bytes;
using testing::EncodeHeif;

// A small progressive JPEG whose frame header declares 10000x10000, padded to 13 KB: issue 14's
// decompression bomb (7.7 s of CPU each before the compression-ratio check).
Bytes JpegBomb() {
  Bytes jpeg = testing::EncodeJpeg(testing::MakePattern(16, 16, 3), 90, true);
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC2) {
      jpeg[i + 5] = jpeg[i + 7] = 0x27;  // 10000 = 0x2710
      jpeg[i + 6] = jpeg[i + 8] = 0x10;
      break;
    }
  }
  Bytes comment = {0xFF, 0xFE, 0x32, 0xC8};  // a comment segment of 13000 bytes
  comment.resize(13'000 + 2, 'x');
  jpeg.insert(jpeg.begin() + 2, comment.begin(), comment.end());
  return jpeg;
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
  void ExpectSameAsInProcess(const Bytes& bytes, const std::string& what, const MediaHashOptions& options = Options()) {
    const auto local = HashMedia(bytes, options);
    const auto confined = pool_->Hash(bytes, options);
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
      {"avif", EncodeHeif(rgb, heif_compression_AV1)},
  };
  for (const auto& [name, bytes] : images) {
    ASSERT_FALSE(bytes.empty()) << name;
    ExpectSameAsInProcess(bytes, name);
  }
  int modes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::TestDataDir() / "vectors/pdq/misc-images/modes")) {
    if (entry.path().extension() == ".md") continue;
    ExpectSameAsInProcess(testing::ReadFile(entry.path()), entry.path().filename().string());
    ++modes;
  }
  EXPECT_EQ(modes, 14) << "tests/data/vectors/pdq/misc-images/modes holds the 14 colour-mode images";
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

// AVIF, HEIC and AV1 video in a confined worker, as in-process. dav1d (libheif's AV1 decoder, and
// FFmpeg's) and libaom name each thread they start with prctl(PR_SET_NAME): the filter allows
// that prctl and no other. Release builds killed the worker on every AVIF (SIGSYS: "hostile
// input", the upload never hashed) while sanitizer builds, which allow every prctl, passed. dav1d
// starts threads for a still only where the worker sees more than one CPU; the video asks FFmpeg
// for 2 decoder threads (`[video] threads`), so dav1d starts them on any machine.
TEST_F(SandboxTest, Av1AndHevcHashAsInProcessThoughTheirDecodersNameTheirThreads) {
  ASSERT_TRUE(heif_have_encoder_for_format(heif_compression_AV1)) << "this libheif cannot encode AVIF";
  const Image rgb = testing::MakePattern(640, 480, 3, 13);
  const Bytes avif = EncodeHeif(rgb, heif_compression_AV1);
  ASSERT_FALSE(avif.empty());
  ASSERT_EQ(SniffImageFormat(avif), ImageFormat::kHeif);
  ExpectSameAsInProcess(avif, "avif");
  const Bytes heic = EncodeHeif(rgb, heif_compression_HEVC);
  ASSERT_FALSE(heic.empty());
  ExpectSameAsInProcess(heic, "heic");
  EXPECT_EQ(pool_->Stats().workers_killed, 0);

  testing::TempDir dir;
  const auto av1 = dir.path() / "av1.mp4";
  const auto made = testing::RunProgram({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                                         "testsrc=size=320x240:rate=10:duration=2", "-c:v", "libaom-av1", "-cpu-used",
                                         "8", "-pix_fmt", "yuv420p", av1.string()});
  ASSERT_EQ(made.status, 0) << made.err;
  MediaHashOptions two_threads = Options();
  two_threads.video.limits.threads = 2;
  ExpectSameAsInProcess(testing::ReadFile(av1), "av1 video, 2 decoder threads", two_threads);
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

TEST_F(SandboxTest, VideosHashAsInProcess) {
  int videos = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::TestDataDir() / "vectors/vpdq/videos")) {
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
  Bytes mp4 = testing::ReadFile(testing::TestDataDir() / "vectors/vpdq/videos/chair-19-sd-bar.mp4");
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
  EXPECT_EQ(spin.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));

  EXPECT_EQ(pool_->Stats().workers_killed, 2);  // the filtered one and the runaway one
  ExpectSameAsInProcess(testing::EncodePng(testing::MakePattern(64, 64, 3)), "after the failures");
}

// A worker loads the decoder modules before it confines itself; one it cannot load is reported
// when the pool starts (the service logs it, `vigil sandbox check` fails), its formats then fail
// as the installation's problem (kUnavailable, naming the module) and every other format decodes.
TEST_F(SandboxTest, WorkersSayWhichDecoderModulesTheyCouldNotLoad) {
  EXPECT_EQ(pool_->isolation().missing_decoders, "");
  pool_.reset();
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "bin");
  std::filesystem::copy_file(VIGIL_TEST_CLI, dir.path() / "bin" / "vigil");
  const auto modules = std::filesystem::path(VIGIL_TEST_CLI).parent_path() / "lib" / "vigil";
  std::filesystem::create_directories(dir.path() / "lib" / "vigil");
  std::filesystem::copy_file(modules / "libvigil-ffmpeg.so", dir.path() / "lib" / "vigil" / "libvigil-ffmpeg.so");
  options_.executable = (dir.path() / "bin" / "vigil").string();
  auto logged = std::make_shared<std::vector<std::string>>();
  auto mu = std::make_shared<std::mutex>();
  options_.on_worker_output = [logged, mu](pid_t, std::string_view line) {
    std::lock_guard lock(*mu);
    logged->emplace_back(line);
  };
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool) << pool.error().ToString();
  pool_ = std::move(*pool);
  EXPECT_NE(pool_->isolation().missing_decoders.find("libvigil-heif.so"), std::string::npos)
      << pool_->isolation().missing_decoders;
  const Bytes heic = EncodeHeif(testing::MakePattern(64, 48, 3, 2));
  ASSERT_FALSE(heic.empty()) << "libheif's HEVC encoder";
  auto heif = pool_->Hash(heic, Options());
  ASSERT_FALSE(heif);
  EXPECT_EQ(heif.error().code, ErrorCode::kUnavailable) << heif.error().ToString();
  EXPECT_NE(heif.error().message.find("libvigil-heif.so"), std::string::npos) << heif.error().message;
  EXPECT_EQ(heif.error().message.find(dir.path().string()), std::string::npos) << "no path reaches the caller";
  ExpectSameAsInProcess(testing::EncodePng(testing::MakePattern(64, 64, 3)), "without the HEIF module");
  // Every worker says so on its standard error too, which the service logs (a worker started after
  // the installation broke under a running service).
  std::lock_guard lock(*mu);
  EXPECT_TRUE(std::any_of(logged->begin(), logged->end(), [](const std::string& line) {
    return line.find("decoder modules missing") != std::string::npos && line.find("libvigil-heif.so") != std::string::npos;
  })) << logged->size() << " lines logged";
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

// A bomb refused from its header decodes nothing and does not age the worker: a flood of them
// recycled workers every few hundred milliseconds, and each start held a small upload up for
// ~240 ms (sandbox_bench --lanes: p99 242 ms beside 4 senders of bombs; 1.2 ms now).
TEST_F(SandboxTest, BombsRefusedFromTheHeaderDoNotRecycleWorkers) {
  pool_.reset();
  options_.max_requests_per_worker = 3;
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool);
  pool_ = std::move(*pool);
  const Bytes png = testing::EncodePng(testing::MakePattern(64, 48, 3, 6));
  ASSERT_TRUE(pool_->Hash(png, Options()));  // a worker up
  const auto before = pool_->Stats();
  const Bytes bomb = JpegBomb();
  for (int i = 0; i < 20; ++i) {
    auto refused = pool_->Hash(bomb, Options());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kTooLarge);
  }
  EXPECT_EQ(pool_->Stats().workers_started, before.workers_started) << "bombs recycled workers";
  // Decodes still do: three more requests retire the worker.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool_->Hash(png, Options()));
  for (int i = 0; i < 50 && pool_->Stats().workers_started == before.workers_started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the replacement starts off the request's path
  }
  EXPECT_GT(pool_->Stats().workers_started, before.workers_started);
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

// Issue 14, item 7: as /proc shows them to the service, a worker and its decoder are not root
// (when the service is) and hold no capability at all.
TEST_F(SandboxTest, WorkersRunAsAnUnprivilegedUserWithoutCapabilities) {
  auto view = pool_->Inspect();
  ASSERT_TRUE(view) << view.error().ToString();
  std::vector<const sandbox::ProcessView*> processes = {&view->spawned};
  if (view->decoder) processes.push_back(&*view->decoder);
  for (const sandbox::ProcessView* p : processes) {
    if (getuid() == 0) {
      EXPECT_NE(p->uid, 0) << "pid " << p->pid << " still runs as root";
      EXPECT_NE(p->gid, 0) << "pid " << p->pid << " still runs as group root";
      EXPECT_EQ(p->cap_bounding, 0u) << "CapBnd of pid " << p->pid;
    }
    EXPECT_EQ(p->cap_effective, 0u) << "CapEff of pid " << p->pid;
    EXPECT_EQ(p->cap_permitted, 0u) << "CapPrm of pid " << p->pid;
    EXPECT_EQ(p->cap_inheritable, 0u) << "CapInh of pid " << p->pid;
    EXPECT_EQ(p->cap_ambient, 0u) << "CapAmb of pid " << p->pid;
    EXPECT_EQ(p->seccomp, 2) << "pid " << p->pid << " is not in seccomp filter mode";
  }
  // And as the decoder sees itself.
  auto identity = pool_->Probe("identity", 10);
  ASSERT_TRUE(identity) << identity.error().ToString();
  if (getuid() == 0) {
    EXPECT_NE(identity->at("uid").to_number<std::int64_t>(), 0);
  }
}

// Where the kernel grants them (root, or an unprivileged user namespace), the decoder runs in a
// PID namespace of its own, as its PID 1, and in a mount namespace of its own.
TEST_F(SandboxTest, DecodersRunInTheirOwnPidAndMountNamespaces) {
  const sandbox::Isolation& isolation = pool_->isolation();
  if (!isolation.pid || !isolation.mount) GTEST_SKIP() << "refused by this kernel: " << isolation.refused;
  auto view = pool_->Inspect();
  ASSERT_TRUE(view) << view.error().ToString();
  ASSERT_TRUE(view->decoder.has_value()) << "no decoder process under worker " << view->spawned.pid;
  const sandbox::ProcessView& decoder = *view->decoder;
  ASSERT_GE(decoder.ns_pids.size(), 2u) << "NSpid should show the decoder's own level below ours";
  EXPECT_EQ(decoder.ns_pids.front(), decoder.pid);
  EXPECT_EQ(decoder.ns_pids.back(), 1) << "the decoder is PID 1 of its namespace";
  if (getuid() == 0) {  // others may not look at a non-dumpable process's namespaces
    ASSERT_TRUE(decoder.own_pid_ns.has_value() && decoder.own_mount_ns.has_value());
    EXPECT_TRUE(*decoder.own_pid_ns) << "the decoder shares our PID namespace";
    EXPECT_TRUE(*decoder.own_mount_ns) << "the decoder shares our mount namespace";
  }
  auto identity = pool_->Probe("identity", 10);
  ASSERT_TRUE(identity) << identity.error().ToString();
  EXPECT_EQ(identity->at("pid").to_number<std::int64_t>(), 1);
}

// A worker's descriptor 2 is a pipe of its own, not the service's log descriptor.
TEST_F(SandboxTest, WorkersDoNotShareTheServicesStderr) {
  auto view = pool_->Inspect();
  ASSERT_TRUE(view) << view.error().ToString();
  const std::string& theirs = view->decoding().stderr_target;
  if (theirs.empty()) GTEST_SKIP() << "/proc/PID/fd of a worker is not readable here (not root)";
  EXPECT_EQ(theirs.rfind("pipe:", 0), 0u) << theirs;
  EXPECT_NE(theirs, view->service_stderr);
  if (view->decoder) {
    EXPECT_EQ(view->spawned.stderr_target, "") << "the supervisor keeps no descriptor";
  }
}

// What a worker writes to its stderr reaches the service's log, a line at a time, with its pid.
TEST_F(SandboxTest, WhatAWorkerWritesToStderrIsLoggedWithItsPid) {
  struct Lines {
    std::mutex mu;
    std::vector<std::pair<pid_t, std::string>> lines;
  };
  auto captured = std::make_shared<Lines>();
  pool_.reset();
  options_.on_worker_output = [captured](pid_t pid, std::string_view line) {
    std::lock_guard lock(captured->mu);
    captured->lines.emplace_back(pid, line);
  };
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool) << pool.error().ToString();
  pool_ = std::move(*pool);
  auto said = pool_->Probe("stderr", 10);
  ASSERT_TRUE(said) << said.error().ToString();
  std::lock_guard lock(captured->mu);
  ASSERT_EQ(captured->lines.size(), 1u);
  EXPECT_GT(captured->lines[0].first, 0);
  EXPECT_EQ(captured->lines[0].second, "vigil sandbox probe: a line on standard error");
}

// A compromised decoder calling prlimit64 on another process (here this one, the service) is
// killed by the filter, and this process's limits stay as they were.
TEST_F(SandboxTest, PrlimitOnAnotherProcessKillsTheWorker) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &before), 0);
  auto changed = pool_->Probe("prlimit_other", 10);
  ASSERT_FALSE(changed) << boost::json::serialize(*changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(changed.error().message.find("SIGSYS"), std::string::npos) << changed.error().message;
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
  EXPECT_EQ(after.rlim_max, before.rlim_max);
}

// prctl is allowed to name the calling thread (what dav1d and libaom do) and for nothing else.
TEST_F(SandboxTest, PrctlIsAllowedOnlyToNameAThread) {
  auto named = pool_->Probe("thread_name", 10);
  ASSERT_TRUE(named) << named.error().ToString();
  ASSERT_TRUE(named->is_object() && named->as_object().contains("named")) << boost::json::serialize(*named);
  EXPECT_TRUE(named->at("named").as_bool());
  if (sandbox::SanitizerAllowances()) GTEST_SKIP() << "sanitizer builds allow every prctl";
  auto other = pool_->Probe("prctl_other", 10);
  ASSERT_FALSE(other) << boost::json::serialize(*other);
  EXPECT_EQ(other.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(other.error().message.find("SIGSYS"), std::string::npos) << other.error().message;
  EXPECT_EQ(pool_->Stats().workers_killed, 1);
}

// A decode that burns more CPU than its budget is stopped long before the wall-time limit, and
// the next request is served.
TEST_F(SandboxTest, ADecodeOverItsCpuBudgetIsStopped) {
  const auto started = std::chrono::steady_clock::now();
  auto spin = pool_->Probe("spin", 60, 1);
  ASSERT_FALSE(spin);
  EXPECT_EQ(spin.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_NE(spin.error().message.find("CPU budget of 1 s"), std::string::npos) << spin.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(pool_->Stats().workers_killed, 1);
  ExpectSameAsInProcess(testing::EncodePng(testing::MakePattern(64, 64, 3)), "after the CPU budget");
}

// An image whose header declares more than large_pixels is decoded in the large lane (the same
// result); a smaller one stays in the small lane.
TEST_F(SandboxTest, ImagesDeclaringMoreThanLargePixelsAreDecodedInTheLargeLane) {
  pool_.reset();
  options_.large_pixels = 50'000;
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool) << pool.error().ToString();
  pool_ = std::move(*pool);
  ExpectSameAsInProcess(testing::EncodePng(testing::MakePattern(200, 200, 3)), "40000 pixels");
  EXPECT_EQ(pool_->Stats().large_requests, 0);
  ExpectSameAsInProcess(testing::EncodeJpeg(testing::MakePattern(320, 240, 3)), "76800 pixels");
  EXPECT_EQ(pool_->Stats().large_requests, 1);
  EXPECT_EQ(pool_->Stats().requests, 2);
}

// Formats whose declared size the compression-ratio check cannot bound by their bytes (lossless
// WebP here: one colour at 2000x2000 in a few hundred bytes; also arithmetic-coded JPEG, HEIF/AVIF,
// some TIFF compressions) go to the large lane past a megapixel, whatever large_pixels says: what
// they cost cannot be predicted from their size. The same size as a baseline JPEG or a lossy WebP,
// whose bytes bound it, stays in the small lane (large_pixels: 16 megapixels).
TEST_F(SandboxTest, ImagesWhoseSizeTheirBytesCannotBoundGoToTheLargeLanePastAMegapixel) {
  ASSERT_EQ(options_.large_pixels, 16'000'000u);
  ASSERT_GT(options_.large_workers, 0);
  const Image solid = testing::MakeSolid(2000, 2000);
  const Bytes lossless = testing::EncodeWebpLossless(solid);
  ASSERT_LT(lossless.size(), 4096u);
  auto header = ReadImageHeader(lossless, {});
  ASSERT_TRUE(header) << header.error().ToString();
  EXPECT_FALSE(header->ratio_checked);

  ExpectSameAsInProcess(testing::EncodeJpeg(solid, 90), "baseline jpeg 2000x2000");
  ExpectSameAsInProcess(testing::EncodeWebpLossy(solid), "lossy webp 2000x2000");
  ExpectSameAsInProcess(testing::EncodeWebpLossless(testing::MakeSolid(1000, 1000)), "lossless webp 1000x1000");  // not over 1 MP
  EXPECT_EQ(pool_->Stats().large_requests, 0) << "ratio-checked images, and unchecked ones up to 1 MP, stay small";
  ExpectSameAsInProcess(lossless, "lossless webp 2000x2000");
  EXPECT_EQ(pool_->Stats().large_requests, 1);
  EXPECT_EQ(pool_->Stats().requests, 4);
  EXPECT_EQ(pool_->Stats().workers_killed, 0);
}

TEST_F(SandboxTest, VideosAreDecodedInTheLargeLane) {
  ExpectSameAsInProcess(testing::ReadFile(testing::TestDataDir() / "vectors/vpdq/videos/chair-19-sd-bar.mp4"), "video");
  EXPECT_EQ(pool_->Stats().large_requests, 1);
}

// The large lane is bounded: with its worker busy and no room to wait, a large image is refused
// at once (unavailable: retry later) instead of holding a thread behind it.
TEST_F(SandboxTest, TheLargeLaneRefusesWhenItsQueueIsFull) {
  pool_.reset();
  options_.large_workers = 1;
  options_.large_queue = 0;
  options_.large_pixels = 50'000;
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool) << pool.error().ToString();
  pool_ = std::move(*pool);
  std::thread busy([this] { (void)pool_->Probe("spin", 3, 0, true); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto started = std::chrono::steady_clock::now();
  auto refused = pool_->Hash(testing::EncodeJpeg(testing::MakePattern(320, 240, 3)), Options());
  const auto took = std::chrono::steady_clock::now() - started;
  busy.join();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(pool_->Stats().large_refused, 1);
}

// Issue 14, item 6: four 13 KB JPEGs declaring 10000x10000 (7.7 s of CPU each before) sent at
// once are each refused as too large from their header, in the small lane, and a small upload
// sent meanwhile is hashed. (How long it waits: `sandbox_bench --lanes`, docs/sandbox.md.)
TEST_F(SandboxTest, FourBombsAtOnceAreEachRefusedWhileASmallUploadIsHashed) {
  const Bytes bomb = JpegBomb();
  const Bytes small = testing::EncodeJpeg(testing::MakePattern(64, 64, 3));
  ASSERT_TRUE(pool_->Hash(small, Options()));
  struct Sender {
    int refused = 0;
    std::vector<std::string> unexpected;  // any other answer
  };
  std::vector<Sender> senders(4);
  std::atomic<bool> stop = false;
  std::atomic<int> answered = 0;  // senders with at least one answer
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < senders.size(); ++i) {
    threads.emplace_back([&, i] {
      Sender& sender = senders[i];
      do {
        auto hashed = pool_->Hash(bomb, Options());
        if (!hashed && hashed.error().code == ErrorCode::kTooLarge &&
            hashed.error().message.find("decompression bomb") != std::string::npos) {
          ++sender.refused;
        } else {
          sender.unexpected.push_back(hashed ? "hashed" : hashed.error().ToString());
        }
        if (sender.refused + static_cast<int>(sender.unexpected.size()) == 1) ++answered;
      } while (!stop);
    });
  }
  while (answered < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // all four are sending
  std::vector<std::string> small_errors;
  for (int i = 0; i < 5; ++i) {
    auto hashed = pool_->Hash(small, Options());
    if (!hashed) small_errors.push_back(hashed.error().ToString());
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_TRUE(small_errors.empty()) << small_errors.front();
  for (const Sender& sender : senders) {
    EXPECT_GT(sender.refused, 0);
    EXPECT_TRUE(sender.unexpected.empty()) << "a bomb was answered with " << sender.unexpected.front();
  }
  const auto stats = pool_->Stats();
  EXPECT_EQ(stats.large_requests, 0) << "a bomb is refused from its header, before the large lane";
  EXPECT_EQ(stats.workers_killed, 0);
}

// Four large images sent at once are all decoded, in the large lane (one worker, the others
// waiting in its queue), and a small upload sent meanwhile is hashed in the small lane. (How long
// it waits: `sandbox_bench --lanes`, docs/sandbox.md.)
TEST_F(SandboxTest, FourLargeImagesAtOnceAreDecodedInTheLargeLaneWhileASmallUploadIsHashedInTheSmallLane) {
  pool_.reset();
  options_.large_workers = 1;
  options_.large_queue = 4;
  options_.large_pixels = 1'000'000;
  auto pool = sandbox::SandboxPool::Start(options_);
  ASSERT_TRUE(pool) << pool.error().ToString();
  pool_ = std::move(*pool);
  const Bytes large = testing::EncodeJpeg(testing::MakePattern(2000, 1500, 3, 11), 90);  // 3 megapixels
  const Bytes small = testing::EncodeJpeg(testing::MakePattern(64, 64, 3));
  const auto expected = HashMedia(large, Options());
  ASSERT_TRUE(expected) << expected.error().ToString();
  ASSERT_TRUE(pool_->Hash(small, Options()));
  ASSERT_EQ(pool_->Stats().large_requests, 0) << "a small upload is hashed in the small lane";
  struct Sender {
    int decoded = 0;
    std::vector<std::string> unexpected;  // a failure, or another hash
  };
  std::vector<Sender> senders(4);
  std::atomic<bool> stop = false;
  std::atomic<int> answered = 0;  // senders with at least one answer
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < senders.size(); ++i) {
    threads.emplace_back([&, i] {
      Sender& sender = senders[i];
      do {
        auto hashed = pool_->Hash(large, Options());
        if (hashed && hashed->signals == expected->signals) {
          ++sender.decoded;
        } else {
          sender.unexpected.push_back(hashed ? "another hash" : hashed.error().ToString());
        }
        if (sender.decoded + static_cast<int>(sender.unexpected.size()) == 1) ++answered;
      } while (!stop);
    });
  }
  while (answered < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // all four are sending
  auto hashed = pool_->Hash(small, Options());
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(hashed) << hashed.error().ToString();
  int decoded = 0;
  for (const Sender& sender : senders) {
    decoded += sender.decoded;
    EXPECT_GT(sender.decoded, 0);
    EXPECT_TRUE(sender.unexpected.empty()) << "a large image was answered with " << sender.unexpected.front();
  }
  const auto stats = pool_->Stats();
  EXPECT_EQ(stats.large_requests, decoded) << "every large image, and only they, went to the large lane";
  EXPECT_EQ(stats.large_refused, 0);
  EXPECT_EQ(stats.requests, decoded + 2);  // and the two small uploads
  EXPECT_EQ(stats.workers_killed, 0);
}

}  // namespace
}  // namespace vigil
