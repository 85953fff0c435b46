// Starting and stopping real servers through launched_server (harness/lib's server_process plus
// the runner's {tmp}, CPUs and logs), and verify_server's verdicts on real processes: event_loop
// ok, nginx partial (its declared expected_failures; /sleep not served), the same two with a
// live downstream for the /gateway checks, a server whose exit on SIGTERM is not 0 failed
// although every check passes.
#include "launch.h"

#include <gtest/gtest.h>

#include <fstream>

#include "registry.h"
#include "test_support.h"
#include "verify.h"

namespace fs = std::filesystem;
using namespace lab::testing;

namespace {

lab::launch_settings settings_in(const fs::path& dir) {
  lab::launch_settings s;
  s.bin = bin();
  s.root = root();
  s.cpus = {0};
  s.logs = dir / "logs";
  s.tmp_root = dir / "tmp";
  return s;
}

std::optional<lab::server_spec> registered(const std::string& name) {
  for (const auto& spec : lab::load_registry(root()))
    if (spec.name == name) return spec;
  return std::nullopt;
}

}  // namespace

TEST(RunnerLaunch, PlaceholdersAndOptionsOfOneStart) {
  auto dir = temp_dir("launch_options", "runner_e2e");
  auto settings = settings_in(dir);
  settings.cpus = {0, 1};
  const auto values = lab::placeholders_for(settings, 30);
  EXPECT_EQ(values.threads, 2);
  EXPECT_EQ(values.idle_timeout_s, 30);
  EXPECT_EQ(values.bin, bin());
  lab::server_spec spec;
  spec.name = "x";
  const auto options = lab::start_options_for(spec, settings, 2, "x-verify");
  EXPECT_EQ(options.stdout_path, dir / "logs" / "x-verify.stdout");
  EXPECT_EQ(options.stderr_path, dir / "logs" / "x-verify.stderr");
  EXPECT_EQ(options.cpus, (std::vector<int>{0, 1}));
  EXPECT_TRUE(fs::is_directory(options.values.tmp));  // a fresh {tmp} per start
  EXPECT_EQ(options.values.tmp.parent_path(), dir / "tmp");
  fs::remove_all(dir);
}

TEST(RunnerLaunch, StartsEventLoopAndStopsItCleanly) {
  auto spec = registered("event_loop");
  ASSERT_TRUE(spec);
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  auto dir = temp_dir("launch", "runner_e2e");
  auto server = lab::launched_server::start(*spec, settings_in(dir), 30, "event_loop-rep0-0");
  EXPECT_GT(server.port(), 0);
  EXPECT_TRUE(server.running());
  EXPECT_NE(read_file(dir / "logs" / "event_loop-rep0-0.stdout").find(":" + std::to_string(server.port())),
            std::string::npos);
  ASSERT_EQ(std::distance(fs::directory_iterator(dir / "tmp"), fs::directory_iterator()), 1);
  lab::launched_server moved = std::move(server);  // ownership moves; one stop
  const auto& exit = moved.stop();
  EXPECT_TRUE(exit.clean()) << exit.describe();
  EXPECT_FALSE(moved.running());
  EXPECT_TRUE(moved.stop().clean());  // idempotent
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "tmp"), fs::directory_iterator()), 0);
  fs::remove_all(dir);
}

TEST(RunnerLaunch, AStartThatFailsSaysWhyAndLeavesNoTmp) {
  auto dir = temp_dir("launch_fail", "runner_e2e");
  lab::server_spec spec;
  spec.name = "exits";
  spec.start = {"sh", "-c", "echo 'cannot bind' >&2; exit 4", "{port}"};
  try {
    lab::launched_server::start(spec, settings_in(dir), 30, "exits-0", std::chrono::seconds(5));
    ADD_FAILURE() << "started";
  } catch (const lab::server_start_error& e) {
    EXPECT_TRUE(e.exited);
    EXPECT_NE(std::string(e.what()).find("exited with 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot bind"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "tmp"), fs::directory_iterator()), 0);
  fs::remove_all(dir);
}

TEST(RunnerVerifyServer, EventLoopPasses) {
  auto spec = registered("event_loop");
  ASSERT_TRUE(spec);
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  auto dir = temp_dir("verify_ok", "runner_e2e");
  const auto v = lab::verify_server(*spec, settings_in(dir), {"/plaintext", "/sleep?ms=10"});
  EXPECT_EQ(v.result, lab::verdict::ok) << v.reason;
  for (const auto& c : v.checks) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  EXPECT_GT(v.checks.size(), 10u);
  EXPECT_TRUE(v.failing.empty());
  EXPECT_TRUE(v.paths_not_served.empty());
  EXPECT_TRUE(v.reason.empty());
  fs::remove_all(dir);
}

TEST(RunnerVerifyServer, NginxIsPartialOnItsDeclaredFailures) {
  auto spec = registered("nginx");
  ASSERT_TRUE(spec);
  lab::placeholders values;
  values.bin = bin();
  values.root = root();
  if (auto why = lab::unavailable_reason(*spec, values)) GTEST_SKIP() << *why;
  auto dir = temp_dir("verify_nginx", "runner_e2e");
  const auto v = lab::verify_server(*spec, settings_in(dir), {"/plaintext", "/json", "/sleep?ms=10"});
  EXPECT_EQ(v.result, lab::verdict::partial) << v.reason;
  EXPECT_FALSE(v.failing.empty());
  EXPECT_TRUE(v.undeclared.empty());
  for (const auto& name : v.failing)
    EXPECT_NE(std::find(spec->expected_failures.begin(), spec->expected_failures.end(), name),
              spec->expected_failures.end()) << name;
  EXPECT_EQ(v.paths_not_served, std::vector<std::string>{"/sleep?ms=10"});
  EXPECT_NE(v.reason.find("declared expected_failures"), std::string::npos) << v.reason;
  fs::remove_all(dir);
}

// A suite with /gateway scenarios verifies against a live downstream: the gateway_* checks that
// need one run (and pass on event_loop), gateway_bad_gateway is skipped, the /gateway path
// answers; nginx, which serves no /gateway, stays partial and is not measured on it.
TEST(RunnerVerifyServer, WithALiveDownstreamTheGatewayChecksRun) {
  auto spec = registered("event_loop");
  ASSERT_TRUE(spec);
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  if (!fs::exists(bin() / "downstream")) GTEST_SKIP() << "downstream not built in " << bin();
  auto dir = temp_dir("verify_gateway", "runner_e2e");
  const lab::verify_downstream downstream{lab::downstream_config{}, {0}};
  const std::string gateway = "/gateway?fanout=4&ms=10&mode=parallel";
  auto v = lab::verify_server(*spec, settings_in(dir), {"/plaintext", gateway}, downstream);
  EXPECT_EQ(v.result, lab::verdict::ok) << v.reason;
  int gateway_checks_run = 0;
  for (const auto& c : v.checks) {
    EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
    if (!c.name.starts_with("gateway_")) continue;
    EXPECT_EQ(c.skipped, c.name == "gateway_bad_gateway") << c.name;
    if (!c.skipped) ++gateway_checks_run;
  }
  EXPECT_GE(gateway_checks_run, 5);
  EXPECT_TRUE(fs::exists(dir / "logs" / "event_loop-verify-downstream.stdout"));
  EXPECT_EQ(lab::live_child_count(), 0u);
  // The smoke GET of a /gateway path: served with a live downstream, not with the default.
  auto server = lab::launched_server::start(*spec, settings_in(dir), 2, "smoke");
  EXPECT_NE(lab::smoke_check("127.0.0.1", server.port(), gateway), "");
  server.stop();

  auto nginx = registered("nginx");
  ASSERT_TRUE(nginx);
  lab::placeholders values;
  values.bin = bin();
  values.root = root();
  if (auto why = lab::unavailable_reason(*nginx, values)) GTEST_SKIP() << *why;
  v = lab::verify_server(*nginx, settings_in(dir), {"/plaintext", gateway}, downstream);
  EXPECT_EQ(v.result, lab::verdict::partial) << v.reason;
  EXPECT_EQ(v.paths_not_served, std::vector<std::string>{gateway});
  fs::remove_all(dir);
}

TEST(RunnerVerifyServer, AnUncleanStopFailsVerificationEvenIfEveryCheckPasses) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  auto dir = temp_dir("verify_unclean", "runner_e2e");
  // event_loop behind a shell that exits 1 when the group gets SIGTERM.
  lab::server_spec spec;
  spec.name = "exits_one";
  spec.language = "cpp";
  spec.start = {"sh", "-c",
                "\"$0\" --port \"$1\" --idle-timeout \"$2\" & pid=$!; "
                "trap 'wait $pid; exit 1' TERM; wait $pid",
                "{bin}/event_loop", "{port}", "{idle_timeout}"};
  const auto v = lab::verify_server(spec, settings_in(dir), {});
  EXPECT_EQ(v.result, lab::verdict::failed);
  EXPECT_TRUE(v.failing.empty()) << v.failing.front();
  EXPECT_NE(v.reason.find("did not stop cleanly"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("exited with 1"), std::string::npos) << v.reason;
  fs::remove_all(dir);
}
