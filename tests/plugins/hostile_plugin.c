/* Hostile builds of the example dHash plug-in, for tests/hash_plugin_test.cpp: each behaves like
 * dHash except on pictures exactly 13 pixels wide (or always, for the load-time faults), where it
 * does what HOSTILE_MODE names:
 *   crash     dereferences a null pointer (SIGSEGV)
 *   loop      never returns
 *   syscall   opens a network socket (the sandbox's filter forbids it)
 *   code      answers 42, neither OK nor UNSUITABLE
 *   overflow  writes a byte past its declared value length
 *   distance  says every value is 7 from itself (always)
 *   name      calls itself "other" (always)
 *   abi       speaks no ABI Vigil knows (always)
 *   scan      answers its scan with a distance its distance function does not agree with (when it finds any)
 *   noscan    has no scan of its own (always): a correct plug-in, scanned value by value
 *   forge     writes a made-up answer frame to the worker's socket (descriptor 1), then hashes
 *   stdout    prints a line on standard output (the worker's socket), then hashes
 *   thread    starts a thread that waits (it could write to the socket out of turn later), then hashes */
#define DHASH_NO_ENTRY
#include "../../examples/hash-plugins/dhash_plugin.c"

#include <sys/socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define MODE_IS(m) (__builtin_strcmp(HOSTILE_MODE_NAME, m) == 0)
#define STR2(x) #x
#define STR(x) STR2(x)
#define HOSTILE_MODE_NAME STR(HOSTILE_MODE)

static volatile int* volatile nowhere = 0;

static void* wait_forever(void* unused) {
  (void)unused;
  for (;;) {
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);  /* allowed by the filter, as a plug-in's loop would be */
  }
  return NULL;
}

static int hostile_rgb(const uint8_t* rgb, uint32_t width, uint32_t height, uint8_t* out, char* why, size_t why_len) {
  if (width == 13) {
    if (MODE_IS("crash")) return *nowhere;
    if (MODE_IS("loop")) {
      for (volatile uint64_t i = 0;; ++i) {
      }
    }
    if (MODE_IS("syscall")) return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? VIGIL_HASH_OK : 43;
    if (MODE_IS("code")) return 42;
    if (MODE_IS("forge")) {
      static const char payload[] = "{\"value\":\"aaaaaaaaaaaaaaaa\",\"near\":[]}";
      struct {
        uint32_t magic, status;
        uint64_t payload_bytes, sequence;
      } header = {0x31415156u, 1u, sizeof payload - 1, 0};
      (void)!write(1, &header, sizeof header);
      (void)!write(1, payload, sizeof payload - 1);
    }
    if (MODE_IS("stdout")) {
      printf("debugging the plug-in\n");
      fflush(stdout);
    }
    if (MODE_IS("thread")) {
      pthread_t thread;
      if (pthread_create(&thread, NULL, wait_forever, NULL) != 0) return 44;
    }
    if (MODE_IS("overflow")) {
      memset(out, 0x11, 9);
      return VIGIL_HASH_OK;
    }
  }
  return dhash_rgb(rgb, width, height, out, why, why_len);
}

static uint32_t hostile_distance(const uint8_t* a, const uint8_t* b) {
  if (MODE_IS("distance")) return a == b ? 7 : dhash_distance(a, b) + 7;
  return dhash_distance(a, b);
}

static size_t hostile_scan(const uint8_t* query, const uint8_t* values, size_t count, uint32_t max_distance, uint32_t* positions,
                           uint32_t* distances, size_t capacity) {
  const size_t found = dhash_scan(query, values, count, max_distance, positions, distances, capacity);
  if (MODE_IS("scan") && found > 0) distances[0] += 1;
  return found;
}

static vigil_hash_plugin_v1 hostile_table;

__attribute__((visibility("default"))) const vigil_hash_plugin_v1* vigil_hash_plugin_entry(uint32_t abi) {
  if (MODE_IS("abi") || abi != VIGIL_HASH_PLUGIN_ABI) return NULL;
  hostile_table = kDhashPlugin;
  hostile_table.hash_rgb = hostile_rgb;
  hostile_table.distance = hostile_distance;
  hostile_table.scan = MODE_IS("noscan") ? NULL : hostile_scan;
  if (MODE_IS("name")) hostile_table.name = "other";
  return &hostile_table;
}
