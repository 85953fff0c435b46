// Verify before measuring: start a server (idle timeout 2 s), run every conformance check
// against it, optionally GET each scenario path once, stop it, and judge. The verdict depends
// on data only — which checks failed, whether the server died or stopped uncleanly — never on
// the wording of a message:
//   ok       every check passed, the server stayed up and stopped cleanly;
//   partial  every failing check is declared in the server's expected_failures (server.json;
//            only reference servers such as nginx may declare any) and fails for the declared
//            reason (its detail contains the text server.json gives): it is measured only on the
//            scenarios whose path it answers correctly;
//   failed   a check failed that is not declared (or for another reason than declared), the
//            server did not start, died during the
//            checks, or its stop was not clean (non-zero exit, no exit within the grace period,
//            or a sanitizer report): it is never measured.
// A suite with /gateway scenarios verifies with a live downstream (verify_downstream): the server
// is started with {downstream} naming it, so the gateway_* checks that need one run (and
// gateway_bad_gateway, which needs a refusing one, is skipped); otherwise the registry's
// default, where nothing listens, and it is the other way round.
// verify_servers runs several verifications at once (each server its own process, the checks
// mostly wait on timers), and re-checks alone any server that failed while others ran, so
// concurrency can cost time but never a verdict. verify_server is thread-safe (each call owns
// its server and connections); verify_servers is not (call it from one thread).
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance.h"
#include "launch.h"
#include "registry.h"
#include "suite.h"

namespace lab {

enum class verdict { ok, partial, failed };
const char* to_string(verdict v);  // "ok" | "partial" | "failed"

inline constexpr int verify_idle_timeout_s = 2;

// The live downstream started beside each verified server: fixed delays and one thread, as the
// conformance checks' timings assume, pinned to `cpus` (the client CPUs).
struct verify_downstream {
  downstream_config config;
  std::vector<int> cpus;
};

struct verification {
  verdict result = verdict::failed;
  std::vector<check_result> checks;
  std::vector<std::string> failing;     // names of the failing checks
  std::vector<std::string> undeclared;  // failing checks not declared: "name (detail)"
  std::vector<std::string> paths_not_served;  // scenario paths that did not answer correctly
  std::string reason;                   // empty when ok; otherwise what a reader needs
  nlohmann::json checks_json() const;   // [{"name","passed","detail"}]
};

// Whether a failing check is one the server declares: named in expected_failures and, if
// server.json gives a reason for it, failing with a detail that contains that reason.
bool is_declared_failure(const check_result& check, const server_spec& spec);

// The verdict from the facts (pure). `server_trouble`: the server did not start, died during
// the checks, or did not stop cleanly — always failed.
verdict judge(const std::vector<check_result>& checks, const server_spec& spec, bool server_trouble);

// One GET of a contract endpoint with its expected answer (/gateway: the fanout and mode asked
// for, one call per index in order). Empty string: served correctly.
std::string smoke_check(const std::string& host, int port, const std::string& path);

// Starts the server, runs the checks and (for a partial server) GETs each of `paths` once.
verification verify_server(const server_spec& spec, const launch_settings& settings,
                           const std::vector<std::string>& paths,
                           const std::optional<verify_downstream>& downstream = std::nullopt);

// Verifies every spec, up to `jobs` at a time, then re-verifies alone each one whose verdict
// was failed while others ran (the verdict alone counts; `rechecked_alone` says so in the
// reason). Results are in the order of `specs`; `before_solo(i)` is called before a re-check.
std::vector<verification> verify_servers(const std::vector<const server_spec*>& specs,
                                         const launch_settings& settings,
                                         const std::vector<std::string>& paths, int jobs,
                                         const std::function<void(size_t)>& before_solo = {},
                                         const std::optional<verify_downstream>& downstream = std::nullopt);

// The per-check lines `lab verify` prints for a server that did not pass ("  FAIL name: …").
void print_checks(const verification& v, std::ostream& out);

}  // namespace lab
