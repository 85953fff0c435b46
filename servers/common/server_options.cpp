#include "server_options.h"

#include <cstdio>

namespace lab {

void add_server_options(CLI::App& app, server_options& options, const option_set& set) {
  options.threads = set.default_threads;
  app.add_option("--port", options.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--host", options.host, "address to bind")->capture_default_str();
  app.add_option("--threads", options.threads, set.threads_help)
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--idle-timeout", options.idle_timeout_s,
                 "seconds a keep-alive connection may wait for its next request")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--downstream", options.downstream,
                 "HOST:PORT of the downstream service /gateway calls (none: /gateway answers 502)");
  app.add_option("--downstream-pool", options.downstream_pool,
                 "keep-alive connections open to the downstream at once, at most; a call that "
                 "finds none free waits")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  if (set.offload) {
    app.add_option_function<std::string>(
           "--offload",
           [&options](const std::string& where) { options.offload_tbb = where == "tbb"; },
           "where /compute runs: none (inline on the I/O thread) or tbb (a oneTBB arena)")
        ->check(CLI::IsMember({"none", "tbb"}))
        ->default_str("none");
  }
}

void print_listening(const server_options& options, std::uint16_t bound_port,
                     const std::string& model, const std::string& extra) {
  std::printf("listening on %s:%u (%s, %d threads%s%s)\n", options.host.c_str(),
              static_cast<unsigned>(bound_port), model.c_str(), options.threads,
              extra.empty() ? "" : ", ", extra.c_str());
  std::fflush(stdout);
}

}  // namespace lab
