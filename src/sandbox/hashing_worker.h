// The decoder worker: `vigil sandbox-worker`, spawned by the service with an empty environment,
// a socket on its standard input and output and a pipe (drained by the service) as its standard
// error. It confines itself (seccomp_sandbox.h), says it is ready and what isolation it got, then
// hashes one upload (or makes a reviewer's blurred preview) per request until the service closes
// the socket, each request under its CPU budget. A small-lane worker first reads an image's
// header and hands an image larger than its lane takes back to the service, undecoded, for the
// large lane. A worker of a pool with local classifier models parses each model when the service
// sends it (kLoadModel) and runs it on images (kClassify). A worker of a pool with hash plug-ins
// holds each plug-in's list values (kPluginSet) and hashes and scans uploads with them (kPluginHash). Probes let the service (and `vigil sandbox check`) see that the confinement holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::sandbox {

struct WorkerSettings {
  std::uint64_t memory_bytes = 4ull << 30;
  std::uint64_t max_body_bytes = 2ull << 30;
  std::int64_t uid = 65534, gid = 65534;  // a worker started as root becomes this user
  int nice = 0;                           // lower CPU priority (the large lane's)
  std::uint64_t large_pixels = 0;         // images declaring more go back for the large lane; 0: none
  // Loads the ONNX module (model_runtime.h) before confining itself, so that kLoadModel can parse
  // models under the filter. Workers of pools without models never load OpenCV.
  bool models = false;
  // Licensed-hash plug-ins (hash_plugin_runtime.h): each loaded before the worker confines itself,
  // from its path, after its SHA-256 is checked. A plug-in that does not load stops the worker
  // before it says it is ready, with the reason.
  struct Plugin {
    std::string path, sha256;
  };
  std::vector<Plugin> plugins;
};

// Runs the worker on descriptors 0 and 1. Returns the process exit status.
int RunHashingWorker(const WorkerSettings& settings);

}  // namespace vigil::sandbox
