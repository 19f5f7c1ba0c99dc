/* Licensed-hash plug-ins: the C ABI a shared object implements so that Vigil can hash uploads
 * with a hash it cannot ship (PhotoDNA under a licence, a vendor's video hash, a platform's own)
 * and match them against list entries of that hash with the plug-in's own distance.
 *
 * A plug-in is a shared object exporting one function:
 *
 *   const vigil_hash_plugin_v1* vigil_hash_plugin_entry(uint32_t abi);
 *
 * Vigil calls it with the ABI version it speaks (VIGIL_HASH_PLUGIN_ABI); a plug-in that does not
 * speak it answers NULL (and Vigil refuses it at start, saying so). The table it returns must stay
 * valid while the process lives. Everything is plain C: build it with any compiler, against this
 * header alone.
 *
 * Where it runs: only inside Vigil's sandboxed decoder workers (docs/sandbox.md). Each worker
 * dlopens the plug-in before it confines itself, so the object's constructors run unconfined,
 * with the service's privileges (root, where the service runs as root): install only plug-ins you
 * trust as much as Vigil itself. The plug-in's libraries must come from the system's library
 * folders (no RPATH or RUNPATH). The worker then confines itself, and calls the entry point and
 * everything after only under the seccomp filter, one upload at a time, within the upload's CPU
 * budget and time limit. The service process never loads it. A plug-in that crashes, loops, or
 * answers something malformed costs the upload in hand an error; the worker is replaced.
 *
 * What a plug-in may do inside: compute, within the worker's memory limit. The filter stops the
 * worker at a forbidden system call (opening files, sockets, new processes). It does not stop
 * threads or signal handlers, but a plug-in must not use them: a plug-in that ignores SIGXCPU
 * escapes the CPU budget, and is then stopped only by the wall-clock limit. Standard output is the
 * worker's socket to the service: a plug-in that writes there (a debugging printf) has its worker
 * stopped, and the upload gets an error.
 *
 * Thread safety: each function is called by one thread at a time in a worker process.
 */
#ifndef VIGIL_HASH_PLUGIN_H_
#define VIGIL_HASH_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. A later, incompatible ABI gets a new number and a new
 * table type (vigil_hash_plugin_v2); Vigil asks for the newest it speaks. */
#define VIGIL_HASH_PLUGIN_ABI 1

/* What the plug-in hashes. */
#define VIGIL_HASH_INPUT_RGB 1   /* an image's pixels, decoded by Vigil (width*height*3 bytes, RGB, rows top down) */
#define VIGIL_HASH_INPUT_BYTES 2 /* the upload's bytes as sent (any media type) */

/* The largest hash value (bytes) and the longest name (bytes, without the NUL). */
#define VIGIL_HASH_PLUGIN_MAX_BYTES 4096
#define VIGIL_HASH_PLUGIN_MAX_NAME 32

/* Return codes of hash functions. */
#define VIGIL_HASH_OK 0
#define VIGIL_HASH_UNSUITABLE 1 /* this input cannot be hashed (too small, blank...): the upload goes on without this signal */

typedef struct vigil_hash_plugin_v1 {
  uint32_t abi;            /* VIGIL_HASH_PLUGIN_ABI */
  const char* name;        /* the signal type: 2-32 bytes of [a-z0-9_], starting with a letter; not a built-in type */
  const char* version;     /* the plug-in's version, 1-64 printable ASCII bytes; recorded with what it hashed */
  uint32_t hash_bytes;     /* every value is exactly this long: 1..VIGIL_HASH_PLUGIN_MAX_BYTES */
  uint32_t input;          /* VIGIL_HASH_INPUT_RGB or VIGIL_HASH_INPUT_BYTES */
  uint32_t max_distance;   /* two values match when distance(a, b) <= this (0: exact only) */

  /* Hashes one input into `out` (hash_bytes long). VIGIL_HASH_OK, or VIGIL_HASH_UNSUITABLE with a
   * reason (a NUL-terminated string of at most `why_len` bytes) in `why`. Any other answer is an
   * error for the upload. Only the function matching `input` is called; the other may be NULL. */
  int (*hash_rgb)(const uint8_t* rgb, uint32_t width, uint32_t height, uint8_t* out, char* why, size_t why_len);
  int (*hash_data)(const uint8_t* data, size_t size, uint8_t* out, char* why, size_t why_len);

  /* The distance between two values, each hash_bytes long: 0 for equal values, symmetric. */
  uint32_t (*distance)(const uint8_t* a, const uint8_t* b);

  /* Optional (NULL: Vigil calls `distance` once per value). The plug-in's own search of a list:
   * the values among `count` (hash_bytes each, concatenated) within `max_distance` of `query`,
   * written as (position, distance) pairs into `positions` and `distances`, at most `capacity` of
   * them (any order); returns how many it wrote. It must find what `distance` would; Vigil checks
   * every pair it answers against `distance` and refuses the scan if one is wrong. */
  size_t (*scan)(const uint8_t* query, const uint8_t* values, size_t count, uint32_t max_distance, uint32_t* positions,
                 uint32_t* distances, size_t capacity);
} vigil_hash_plugin_v1;

/* The one symbol a plug-in exports. */
typedef const vigil_hash_plugin_v1* (*vigil_hash_plugin_entry_fn)(uint32_t abi);
#define VIGIL_HASH_PLUGIN_ENTRY "vigil_hash_plugin_entry"

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_HASH_PLUGIN_H_ */
