// Cold starts: the port announced in a listening line, a real cold start of event_loop (exec to
// the first 200, idle RSS), and a server that never answers (bounded, with the reason).
#include "startup.h"

#include <gtest/gtest.h>

#include "test_support.h"

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

}  // namespace

TEST(RunnerStartup, AnnouncedPortFromTheListeningLine) {
  EXPECT_EQ(lab::announced_port("listening on 127.0.0.1:8080 (event_loop, 1 threads)\n"), 8080);
  EXPECT_EQ(lab::announced_port("starting\nlistening on [::1]:41000\n"), 41000);
  EXPECT_FALSE(lab::announced_port("listening soon\n"));
  EXPECT_FALSE(lab::announced_port(""));
}

TEST(RunnerStartup, ColdStartOfEventLoop) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  lab::server_spec spec;
  for (const auto& s : lab::load_registry(root()))
    if (s.name == "event_loop") spec = s;
  auto dir = temp_dir("startup", "runner_e2e");
  int calls = 0;
  auto entry = lab::measure_cold_starts(spec, settings_in(dir), 30, 2, [&](int i) { EXPECT_EQ(i, calls++); });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(entry["status"], "ok") << entry.dump();
  EXPECT_EQ(entry["runs"], 2);
  ASSERT_EQ(entry["time_to_first_response_ms"]["samples"].size(), 2u);
  for (const auto& ms : entry["time_to_first_response_ms"]["samples"]) {
    EXPECT_GT(ms.get<double>(), 0);
    EXPECT_LT(ms.get<double>(), 10000);
  }
  EXPECT_GT(entry["idle_rss_kb"]["median"].get<double>(), 100);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "tmp"), fs::directory_iterator()), 0);
  fs::remove_all(dir);
}

TEST(RunnerStartup, AServerThatNeverAnswersFailsWithinTheTimeout) {
  auto dir = temp_dir("startup_silent", "runner_e2e");
  lab::server_spec spec;
  spec.name = "silent";
  spec.start = {"sleep", "30", "{port}"};
  const auto t0 = std::chrono::steady_clock::now();
  try {
    lab::measure_cold_start(spec, settings_in(dir), 30, std::chrono::seconds(1));
    ADD_FAILURE() << "a silent server answered";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("not ready within 1 s"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5);
  fs::remove_all(dir);
}
