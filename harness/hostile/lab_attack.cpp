// lab_attack (./lab attack): what each server still serves under slowloris and under an
// idle-connection flood. Per server and attack (none first, as the reference): a fresh server
// pinned to the server CPUs, then measure_attack (attack_run.h) from this process pinned to
// the client CPUs. Writes results/<time>-attack/attack.json and attack.md.
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "attack_run.h"
#include "attacks.h"
#include "context.h"
#include "process.h"
#include "progress.h"
#include "registry.h"
#include "server_process.h"

namespace fs = std::filesystem;

namespace {

fs::path find_root() {
  if (const char* env = std::getenv("LAB_ROOT"); env && *env) return fs::absolute(env);
  for (fs::path p = fs::current_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    if (fs::is_directory(p / "harness" / "suites")) return p;
  return fs::current_path();
}

bool pin_self(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures every (or the named) server under slowloris and an idle-connection "
               "flood: requests/s and p99 of a well-behaved client, fresh connections answered, "
               "threads and RSS. Writes results/<time>-attack/attack.json and attack.md."};
  std::string servers_text, attacks_text = "none,slowloris,flood", server_cpus_text, client_cpus_text;
  lab::attack_settings settings;
  fs::path out_dir;
  int request_timeout_ms = 2000;
  bool dry_run = false;
  app.add_option("--servers", servers_text, "comma-separated server names (default: every runnable one)");
  app.add_option("--attacks", attacks_text, "comma-separated: none, slowloris, flood")
      ->default_val(attacks_text);
  app.add_option("--seconds", settings.seconds, "measuring time per server and attack")
      ->default_val(10)->check(CLI::Range(1.0, 3600.0));
  app.add_option("--slow-clients", settings.slow_clients, "slowloris connections")
      ->default_val(1000)->check(CLI::Range(1, 60000));
  app.add_option("--flood", settings.flood_connections, "idle connections of the flood")
      ->default_val(5000)->check(CLI::Range(1, 60000));
  app.add_option("--client-connections", settings.client_connections,
                 "the well-behaved client's keep-alive connections")
      ->default_val(2)->check(CLI::Range(1, 64));
  app.add_option("--request-timeout-ms", request_timeout_ms, "a client request unanswered after this is a timeout")
      ->default_val(2000)->check(CLI::Range(100, 60000));
  app.add_option("--server-cpus", server_cpus_text, "CPUs of the server (default: the first half)");
  app.add_option("--client-cpus", client_cpus_text, "CPUs of the attackers and the client (default: the rest)");
  app.add_option("--out", out_dir, "parent folder of the run folder (default: <root>/results)");
  app.add_flag("--dry-run", dry_run, "print what would run and exit");
  CLI11_PARSE(app, argc, argv);
  settings.request_timeout = std::chrono::milliseconds(request_timeout_ms);

  const fs::path root = find_root();
  if (out_dir.empty()) out_dir = root / "results";
  lab::install_child_cleanup_handlers();

  std::vector<lab::attack_kind> kinds;
  for (const auto& name : lab::split_name_list(attacks_text)) {
    if (name == "none") kinds.push_back(lab::attack_kind::none);
    else if (name == "slowloris") kinds.push_back(lab::attack_kind::slowloris);
    else if (name == "flood") kinds.push_back(lab::attack_kind::flood);
    else {
      std::cerr << "lab_attack: unknown attack '" << name << "'; valid: none, slowloris, flood\n";
      return 2;
    }
  }

  const int cores = lab::online_cpus();
  lab::cpu_layout layout = lab::default_cpu_layout(cores);
  try {
    if (!server_cpus_text.empty()) layout.server_cpus = lab::parse_cpu_list(server_cpus_text, cores);
    if (!client_cpus_text.empty()) layout.client_cpus = lab::parse_cpu_list(client_cpus_text, cores);
  } catch (const std::invalid_argument& e) {
    std::cerr << "lab_attack: " << e.what() << "\n";
    return 2;
  }

  std::vector<lab::server_spec> specs;
  try {
    specs = lab::expand_variants(lab::load_registry(root));
  } catch (const lab::registry_error& e) {
    std::cerr << "lab_attack: " << e.what() << "\n";
    return 2;
  }
  lab::placeholders values;
  values.threads = static_cast<int>(layout.server_cpus.size());
  values.root = root;
  values.bin = lab::default_bin_dir(root);
  std::vector<lab::server_spec> chosen;
  if (servers_text.empty()) {
    for (const auto& spec : specs)
      if (!lab::unavailable_reason(spec, values)) chosen.push_back(spec);
  } else {
    for (const auto& name : lab::split_name_list(servers_text)) {
      auto it = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
      if (it == specs.end()) {
        std::string valid;
        for (const auto& s : specs) valid += (valid.empty() ? "" : ", ") + s.name;
        std::cerr << "lab_attack: unknown server '" << name << "'; valid: " << valid << "\n";
        return 2;
      }
      if (auto why = lab::unavailable_reason(*it, values)) {
        std::cerr << "lab_attack: " << name << " cannot run here: " << *why << "\n";
        return 2;
      }
      chosen.push_back(*it);
    }
  }
  const double estimate = chosen.size() * kinds.size() * (settings.seconds + 4);
  std::cerr << "lab_attack: " << chosen.size() << " servers x " << kinds.size()
            << " attacks, about " << lab::format_duration(estimate) << "; server on CPUs "
            << lab::format_cpu_list(layout.server_cpus) << ", attackers and client on "
            << lab::format_cpu_list(layout.client_cpus) << "\n";
  if (dry_run) return 0;

  const long needed = std::max(settings.flood_connections, settings.slow_clients) + 1024;
  if (lab::attack::raise_fd_limit(needed) < needed) {
    std::cerr << "lab_attack: the descriptor limit (ulimit -n) is below " << needed
              << ": raise it or lower --flood / --slow-clients\n";
    return 2;
  }
  if (!pin_self(layout.client_cpus)) {
    std::cerr << "lab_attack: cannot pin to CPUs " << lab::format_cpu_list(layout.client_cpus) << "\n";
    return 2;
  }
  const fs::path folder = out_dir / (lab::utc_stamp() + "-attack");
  fs::create_directories(folder / "logs");
  std::string command = "lab_attack";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];

  std::vector<lab::attack_measurement> rows;
  nlohmann::json doc = {{"schema", "lab-attack/1"},
                        {"context", lab::collect_context(root, layout, "attack", 0, command)},
                        {"settings", {{"seconds", settings.seconds},
                                      {"slow_clients", settings.slow_clients},
                                      {"flood_connections", settings.flood_connections},
                                      {"client_connections", settings.client_connections},
                                      {"request_timeout_ms", request_timeout_ms}}}};
  auto save = [&] {
    doc["measurements"] = nlohmann::json::array();
    for (const auto& m : rows) doc["measurements"].push_back(m.to_json());
    std::ofstream(folder / "attack.json.tmp") << doc.dump(2) << "\n";
    fs::rename(folder / "attack.json.tmp", folder / "attack.json");
    std::ofstream(folder / "attack.md") << lab::attack_markdown(rows, settings);
  };
  for (const auto& spec : chosen)
    for (auto kind : kinds) {
      std::cerr << "  " << spec.name << " / " << lab::to_string(kind) << "...\n";
      lab::server_start_options start;
      start.values = values;
      start.cpus = layout.server_cpus;
      const std::string stem = spec.name + "-" + lab::to_string(kind);
      start.values.tmp = folder / "logs" / (stem + "-tmp");
      fs::create_directories(start.values.tmp);
      start.stdout_path = folder / "logs" / (stem + ".stdout");
      start.stderr_path = folder / "logs" / (stem + ".stderr");
      lab::attack_measurement m;
      try {
        auto server = lab::server_process::start(spec, start);
        m = lab::measure_attack("127.0.0.1", server.port(), server.pid(), kind, settings);
        m.server_survived = m.server_survived && server.running();
        server.stop(std::chrono::seconds(5));
      } catch (const std::exception& e) {
        m.failure = e.what();
      }
      m.server = spec.name;
      m.kind = kind;
      rows.push_back(m);
      save();
    }
  std::cout << lab::attack_markdown(rows, settings) << "\nwritten to " << folder.string() << "\n";
  return 0;
}
