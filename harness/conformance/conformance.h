// The service contract (docs/service-contract.md) as named checks over real sockets, usable
// against any live server on a loopback host:port (the C++ models and the Go, Node.js, Java and
// nginx reference servers). Each check opens its own connections, so run_check may be called
// from several threads at once, but checks that measure time are best run alone.
#pragma once

#include <string>
#include <vector>

namespace lab {

struct conformance_options {
  std::string host = "127.0.0.1";
  int port = 0;
  int idle_timeout_s = 2;        // the --idle-timeout the server was started with
  bool exact_cpp_bytes = false;  // also compare full responses with the contract's bytes
  // The downstream the server was started with (--downstream HOST:PORT), for the /gateway
  // checks, which read its GET /stats. downstream_port = 0 says the server was started with a
  // downstream where nothing listens: gateway_bad_gateway runs (it expects 502) and the checks
  // that need a live downstream are skipped; with a live one it is the other way round.
  std::string downstream_host = "127.0.0.1";
  int downstream_port = 0;
};

struct check_result {
  std::string name;
  bool passed = false;
  std::string detail;    // why it failed (or a short note when it passed)
  bool skipped = false;  // passed because it does not apply (exact bytes on a non-C++ server,
                         // a /gateway check that needs the other kind of downstream)
};

// Every check's name, in the order run_conformance runs them. The exact-bytes checks are
// listed too; unless exact_cpp_bytes is set they pass with skipped = true. The /gateway checks
// are skipped unless the downstream they need is set (see downstream_port).
std::vector<std::string> conformance_check_names();

// Runs one check; never throws (exceptions become a failed result). Unknown name → failed.
check_result run_check(const std::string& name, const conformance_options& options);

// Runs every check in order.
std::vector<check_result> run_conformance(const conformance_options& options);

}  // namespace lab
