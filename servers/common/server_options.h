// server_options.h — the command line every C++ server shares (docs/service-contract.md):
// --port, --host, --threads, --idle-timeout, --downstream, --downstream-pool, and --offload
// for the async models.
// Each main() adds its own knobs to the same CLI::App before parsing.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace lab {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  int threads = 1;
  int idle_timeout_s = 30;
  bool offload_tbb = false;  // --offload tbb: /compute on a oneTBB arena, not the I/O thread
  std::string downstream;    // HOST:PORT that /gateway calls; empty: /gateway answers 502
  int downstream_pool = 256; // connections open to the downstream at once, at most

  std::chrono::seconds idle_timeout() const { return std::chrono::seconds(idle_timeout_s); }
};

struct option_set {
  int default_threads = 1;
  std::string threads_help = "number of I/O threads (one io_context each)";
  bool offload = false;  // accept --offload none|tbb
};

void add_server_options(CLI::App& app, server_options& options, const option_set& set);

// The one line a server prints when its socket listens (the harness waits for the port,
// people read the line).
void print_listening(const server_options& options, std::uint16_t bound_port,
                     const std::string& model, const std::string& extra = "");

}  // namespace lab
