#include "verify.h"

#include <algorithm>
#include <deque>
#include <future>

#include "downstream.h"
#include "http_client.h"

namespace lab {

using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

}  // namespace

const char* to_string(verdict v) {
  switch (v) {
    case verdict::ok: return "ok";
    case verdict::partial: return "partial";
    default: return "failed";
  }
}

json verification::checks_json() const {
  json out = json::array();
  for (const auto& r : checks) out.push_back({{"name", r.name}, {"passed", r.passed}, {"detail", r.detail}});
  return out;
}

bool is_declared_failure(const check_result& check, const server_spec& spec) {
  if (std::find(spec.expected_failures.begin(), spec.expected_failures.end(), check.name) ==
      spec.expected_failures.end())
    return false;
  auto reason = spec.expected_failure_reasons.find(check.name);
  return reason == spec.expected_failure_reasons.end() ||
         check.detail.find(reason->second) != std::string::npos;
}

verdict judge(const std::vector<check_result>& checks, const server_spec& spec, bool server_trouble) {
  if (server_trouble || checks.empty()) return verdict::failed;
  bool any_failed = false;
  for (const auto& c : checks) {
    if (c.passed) continue;
    any_failed = true;
    if (!is_declared_failure(c, spec)) return verdict::failed;
  }
  return any_failed ? verdict::partial : verdict::ok;
}

std::string smoke_check(const std::string& host, int port, const std::string& path) {
  try {
    auto r = http_get(host, port, path, std::chrono::seconds(5));
    if (r.status != 200) return "GET " + path + " answered " + std::to_string(r.status);
    const std::string route = path.substr(0, path.find('?'));
    const std::string query = path.find('?') == std::string::npos ? "" : path.substr(path.find('?') + 1);
    const bool digits = !r.body.empty() && r.body.find_first_not_of("0123456789") == std::string::npos;
    if (route == "/plaintext" && r.body != "Hello, World!") return "GET " + path + ": wrong body";
    if (route == "/json") {
      auto j = json::parse(r.body, nullptr, false);
      if (j != json{{"message", "Hello, World!"}}) return "GET " + path + ": wrong body";
    }
    if (route == "/compute" && !digits) return "GET " + path + ": body is not a number";
    if (route == "/sleep" && (!digits || query != "ms=" + r.body)) return "GET " + path + ": wrong body";
    if (route == "/gateway") {
      // {"fanout":K,"mode":M,"calls":[{"i":0,"ms":MS},...]} for the query's K, M and MS.
      auto value = [&](const std::string& name) -> std::string {
        const std::string key = name + "=";
        for (size_t at = 0; at < query.size();) {
          const size_t end = std::min(query.find('&', at), query.size());
          if (query.compare(at, key.size(), key) == 0) return query.substr(at + key.size(), end - at - key.size());
          at = end + 1;
        }
        return "";
      };
      auto j = json::parse(r.body, nullptr, false);
      const std::string mode = value("mode").empty() ? "parallel" : value("mode");
      bool ok = j.is_object() && j.contains("fanout") && j["fanout"].is_number_unsigned() &&
                std::to_string(j["fanout"].get<unsigned long long>()) == value("fanout") &&
                j.value("mode", "") == mode && j.contains("calls") && j["calls"].is_array() &&
                j["calls"].size() == j["fanout"].get<size_t>();
      for (size_t i = 0; ok && i < j["calls"].size(); ++i)
        ok = j["calls"][i] == json{{"i", i}, {"ms", std::stoull("0" + value("ms"))}};
      if (!ok) return "GET " + path + ": wrong body";
    }
    return "";
  } catch (const std::exception& e) {
    return "GET " + path + ": " + e.what();
  }
}

verification verify_server(const server_spec& spec, const launch_settings& settings,
                           const std::vector<std::string>& paths,
                           const std::optional<verify_downstream>& downstream) {
  verification v;
  std::optional<running_downstream> live;
  launch_settings launch = settings;
  if (downstream) {
    try {
      live.emplace(running_downstream::start(downstream->config, settings, downstream->cpus,
                                             spec.name + "-verify-downstream"));
    } catch (const std::exception& e) {
      v.reason = std::string("the downstream for the /gateway checks did not start: ") + e.what();
      return v;
    }
    launch.downstream = live->address();
  }
  std::optional<launched_server> server;
  try {
    server.emplace(launched_server::start(spec, launch, verify_idle_timeout_s, spec.name + "-verify"));
  } catch (const std::exception& e) {
    v.reason = std::string("did not start: ") + e.what();
    return v;
  }
  conformance_options co;
  co.host = settings.host;
  co.port = server->port();
  co.idle_timeout_s = verify_idle_timeout_s;
  co.exact_cpp_bytes = spec.language == "cpp" && !spec.reference;
  if (live) {
    co.downstream_host = live->host();
    co.downstream_port = live->port();
  }
  v.checks = run_conformance(co);
  for (const auto& r : v.checks) {
    if (r.passed) continue;
    v.failing.push_back(r.name);
    if (!is_declared_failure(r, spec)) v.undeclared.push_back(r.name + " (" + r.detail + ")");
  }
  const bool died = !server->running();
  if (!died && !v.failing.empty() && v.undeclared.empty())
    for (const auto& path : paths)
      if (!smoke_check(co.host, co.port, path).empty()) v.paths_not_served.push_back(path);
  const std::string tail = server->stderr_tail(800);
  const server_exit exit = server->stop();
  const bool unclean = !died && !exit.clean();
  v.result = judge(v.checks, spec, died || unclean);
  if (died) {
    v.reason = "died during the conformance checks (" + exit.describe() + "); " + tail;
  } else if (!v.undeclared.empty()) {
    v.reason = "conformance: " + std::to_string(v.undeclared.size()) + " of " +
               std::to_string(v.checks.size()) + " checks failed: " + join(v.undeclared, "; ");
  } else if (unclean) {
    v.reason = "did not stop cleanly on SIGTERM: " + exit.describe();
  } else if (v.result == verdict::partial) {
    v.reason = "fails only its declared expected_failures (" + std::to_string(v.failing.size()) +
               " of " + std::to_string(v.checks.size()) + " checks): " + join(v.failing);
  }
  return v;
}

std::vector<verification> verify_servers(const std::vector<const server_spec*>& specs,
                                         const launch_settings& settings,
                                         const std::vector<std::string>& paths, int jobs,
                                         const std::function<void(size_t)>& before_solo,
                                         const std::optional<verify_downstream>& downstream) {
  std::vector<verification> out(specs.size());
  jobs = std::max(1, jobs);
  // A sliding window of `jobs` verifications; each thread starts and stops its own server, so
  // PR_SET_PDEATHSIG (tied to the spawning thread) never fires early.
  std::deque<std::pair<size_t, std::future<verification>>> running;
  size_t next = 0;
  while (next < specs.size() || !running.empty()) {
    while (next < specs.size() && running.size() < static_cast<size_t>(jobs)) {
      const server_spec* spec = specs[next];
      running.emplace_back(next++, std::async(std::launch::async, [spec, &settings, &paths, &downstream] {
                             return verify_server(*spec, settings, paths, downstream);
                           }));
    }
    out[running.front().first] = running.front().second.get();
    running.pop_front();
  }
  if (jobs > 1 && specs.size() > 1)
    for (size_t i = 0; i < specs.size(); ++i) {
      if (out[i].result != verdict::failed) continue;
      if (before_solo) before_solo(i);
      out[i] = verify_server(*specs[i], settings, paths, downstream);
      if (!out[i].reason.empty()) out[i].reason += " (re-checked alone)";
    }
  return out;
}

void print_checks(const verification& v, std::ostream& out) {
  for (const auto& r : v.checks)
    out << "  " << (r.passed ? "pass " : "FAIL ") << r.name << (r.detail.empty() ? "" : ": " + r.detail) << "\n";
}

}  // namespace lab
