/* An example licensed-hash plug-in (vigil/hash_plugin.h): a difference hash ("dHash"), a benign,
 * public perceptual hash standing in for one Vigil cannot ship (PhotoDNA under a licence). The
 * picture is turned to grey (BT.601 luma), averaged down to 9x8 cells, and each cell compared
 * with its right-hand neighbour: 64 bits, 8 bytes. Two values match within 10 differing bits.
 *
 * Build:  cc -O2 -shared -fPIC -I/usr/include dhash_plugin.c -o libdhash_plugin.so
 * Then name it in a plug-ins file (docs/hash-plugins.md) with its sha256sum.
 *
 * Thread safety: no state; each call uses only its arguments and its stack. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vigil/hash_plugin.h"

#define DHASH_COLUMNS 9
#define DHASH_ROWS 8

static int dhash_rgb(const uint8_t* rgb, uint32_t width, uint32_t height, uint8_t* out, char* why, size_t why_len) {
  if (width < DHASH_COLUMNS || height < DHASH_ROWS) {
    snprintf(why, why_len, "the picture is %ux%u, smaller than dHash's %dx%d cells", (unsigned)width, (unsigned)height,
             DHASH_COLUMNS, DHASH_ROWS);
    return VIGIL_HASH_UNSUITABLE;
  }
  /* Each cell is the mean luma of the pixels whose top-left corner falls in it. */
  double sum[DHASH_ROWS][DHASH_COLUMNS];
  uint64_t count[DHASH_ROWS][DHASH_COLUMNS];
  memset(sum, 0, sizeof sum);
  memset(count, 0, sizeof count);
  for (uint32_t y = 0; y < height; ++y) {
    const uint32_t row = (uint32_t)((uint64_t)y * DHASH_ROWS / height);
    const uint8_t* p = rgb + (size_t)y * width * 3;
    for (uint32_t x = 0; x < width; ++x, p += 3) {
      const uint32_t column = (uint32_t)((uint64_t)x * DHASH_COLUMNS / width);
      sum[row][column] += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
      ++count[row][column];
    }
  }
  memset(out, 0, 8);
  for (int row = 0; row < DHASH_ROWS; ++row) {
    for (int column = 0; column + 1 < DHASH_COLUMNS; ++column) {
      const double left = sum[row][column] / (double)count[row][column];
      const double right = sum[row][column + 1] / (double)count[row][column + 1];
      const int bit = row * 8 + column;
      if (left > right) out[bit / 8] |= (uint8_t)(1u << (7 - bit % 8));
    }
  }
  return VIGIL_HASH_OK;
}

static uint32_t dhash_distance(const uint8_t* a, const uint8_t* b) {
  uint32_t bits = 0;
  for (int i = 0; i < 8; ++i) bits += (uint32_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
  return bits;
}

/* The optional scan: the same distance with the 64 bits compared in one step, without a call per
 * value (about four times faster than a call to dhash_distance per value; bench/hash_plugin_bench). */
static size_t dhash_scan(const uint8_t* query, const uint8_t* values, size_t count, uint32_t max_distance, uint32_t* positions,
                         uint32_t* distances, size_t capacity) {
  uint64_t q;
  memcpy(&q, query, 8);
  size_t found = 0;
  for (size_t i = 0; i < count && found < capacity; ++i) {
    uint64_t v;
    memcpy(&v, values + i * 8, 8);
    const uint32_t d = (uint32_t)__builtin_popcountll(q ^ v);
    if (d <= max_distance) {
      positions[found] = (uint32_t)i;
      distances[found] = d;
      ++found;
    }
  }
  return found;
}

static const vigil_hash_plugin_v1 kDhashPlugin = {
    VIGIL_HASH_PLUGIN_ABI, "dhash", "1.1 (example)", 8, VIGIL_HASH_INPUT_RGB, 10, dhash_rgb, NULL, dhash_distance, dhash_scan,
};

#ifndef DHASH_NO_ENTRY
__attribute__((visibility("default"))) const vigil_hash_plugin_v1* vigil_hash_plugin_entry(uint32_t abi) {
  return abi == VIGIL_HASH_PLUGIN_ABI ? &kDhashPlugin : NULL;
}
#endif
