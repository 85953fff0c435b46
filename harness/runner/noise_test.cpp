// noise.h: /proc/stat parsing and the machine's share, the three GC log formats, log windows,
// the noisy_machine flag; proc_sampler's page faults; the fingerprint in the context block.
#include "noise.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "context.h"
#include "measurement.h"

namespace {

const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));

TEST(Noise, ParsesProcStat) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  auto t = lab::parse_proc_stat(
      "cpu  100 10 50 1000 5 2 3 7 40 0\ncpu0 50 5 25 500 2 1 1 3 20 0\ncpu1 50 5 25 500 3 1 2 4 20 0\n"
      "intr 123\n");
  EXPECT_DOUBLE_EQ(t.busy_s, (100 + 10 + 50 + 2 + 3) / hz);  // guest is inside user already
  EXPECT_DOUBLE_EQ(t.steal_s, 7 / hz);
  EXPECT_DOUBLE_EQ(t.idle_s, 1000 / hz);
  EXPECT_EQ(t.cpus, 2);
  EXPECT_THROW(lab::parse_proc_stat("intr 1\n"), std::invalid_argument);
  auto now = lab::read_system_cpu();
  EXPECT_GE(now.cpus, 1);
  EXPECT_GT(now.busy_s + now.idle_s, 0);
}

TEST(Noise, MachineShareAndFlag) {
  lab::system_cpu_times before, after;
  before.busy_s = 100;
  after.busy_s = 109;  // 9 s busy over 5 s × 2 CPUs
  before.steal_s = 1;
  after.steal_s = 1.1;
  after.cpus = 2;
  auto u = lab::machine_usage_between(before, after, 5, 8.6, 0.2);
  EXPECT_NEAR(u.foreign_s(), 0.4, 1e-9);
  EXPECT_NEAR(u.foreign_fraction(), 0.04, 1e-9);
  EXPECT_NEAR(u.steal_fraction(), 0.01, 1e-9);
  EXPECT_FALSE(u.noisy());
  u.accounted_s = 7.9;  // 1.1 s of others: 11 %
  EXPECT_TRUE(u.noisy());
  u.accounted_s = 20;  // more accounted than busy (tick rounding): never negative
  EXPECT_EQ(u.foreign_s(), 0);
  u.steal_s = 0.3;  // 3 % stolen
  EXPECT_TRUE(u.noisy());
  auto j = u.to_json();
  EXPECT_EQ(j["cpus"], 2);
  EXPECT_DOUBLE_EQ(j["steal_fraction"].get<double>(), 0.03);

  lab::flag_inputs in;
  in.noisy_machine = true;
  EXPECT_EQ(lab::measurement_flags(in), std::vector<std::string>{"noisy_machine"});
}

TEST(Noise, GoGctrace) {
  const std::string log =
      "listening on 127.0.0.1:8080\n"
      "gc 1 @0.168s 0%: 0.10+1.4+0.003 ms clock, 0.20+0/0.53/0.90+0.007 ms cpu, 3->3->0 MB, 4 MB goal, 2 P\n"
      "gc 2 @0.192s 0%: 0.024+0.80+0.5 ms clock, 0.049+0/0.45/0.47+0.007 ms cpu, 3->3->0 MB, 4 MB goal, 2 P\n"
      "gc 3 @0.2s 0%: 0.01+0.8+0.01 ms clock, 0.01+0/0.4/0.4+0.007 ms cpu, 3->3->0 MB, 4 MB goal, 1 P (forced)\n";
  auto g = lab::parse_gc_log("go", log);
  EXPECT_EQ(g.count, 3u);
  EXPECT_NEAR(g.total_ms, 0.103 + 0.524 + 0.02, 1e-9);
  EXPECT_NEAR(g.max_ms, 0.524, 1e-9);
  EXPECT_EQ(lab::parse_gc_log("node", log).count, 0u);  // another runtime's format is not read
}

TEST(Noise, JavaXlogGc) {
  const std::string log =
      "Picked up JAVA_TOOL_OPTIONS: -Xlog:gc:stderr\n"
      "[0.008s][info][gc] Using G1\n"
      "[3.350s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 19M->7M(388M) 64.515ms\n"
      "[3.931s][info][gc] GC(1) Pause Remark 20M->20M(388M) 1.5ms\n"
      "[3.932s][info][gc] GC(1) Concurrent Mark Cycle 12.000ms\n"
      "[4.0s][info][gc   ] GC(2) Pause Young (Allocation Failure) 2M->1M(9M) 0.5ms\n";
  auto g = lab::parse_gc_log("java", log);
  EXPECT_EQ(g.count, 3u);  // the concurrent cycle is no pause
  EXPECT_NEAR(g.total_ms, 66.515, 1e-9);
  EXPECT_NEAR(g.max_ms, 64.515, 1e-9);
}

TEST(Noise, NodeTraceGc) {
  const std::string log =
      "[18173:0x10af3e70]       69 ms: Scavenge 3.9 (4.0) -> 3.6 (5.0) MB, 6.24 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \n"
      "[18173:0x10af3e70]      900 ms: Mark-Compact 10.1 (12.3) -> 8.2 (11.0) MB, 3.21 / 0.01 ms  (+ 1.2 ms in 12 steps since start of marking, biggest step 0.3 ms) finalize incremental marking via task; GC in old space requested\n"
      "{\"listening\": 1}\n";
  auto g = lab::parse_gc_log("node", log);
  EXPECT_EQ(g.count, 2u);
  EXPECT_NEAR(g.total_ms, 9.45, 1e-9);
  EXPECT_NEAR(g.max_ms, 6.24, 1e-9);
  EXPECT_EQ(lab::gc_runtime_of_language("javascript"), "node");
  EXPECT_FALSE(lab::gc_runtime_of_language("cpp"));
}

TEST(Noise, LogWindowReadsOnlyWhatCameAfter) {
  const auto dir = std::filesystem::path(testing::TempDir()) / "noise_log_window";
  std::filesystem::create_directories(dir);
  const auto err = dir / "server.stderr", out = dir / "server.stdout";
  std::ofstream(err) << "gc 1 @0.1s 0%: 1+1+1 ms clock, x\n";
  std::ofstream(out) << "";
  lab::measurement_noise_probe probe(err);
  std::ofstream(err, std::ios::app) << "gc 2 @0.2s 0%: 0.5+9+0.25 ms clock, x\n";
  auto g = probe.gc_pauses_of("go", "env GODEBUG=gctrace=1 bin/go_nethttp");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->count, 1u);
  EXPECT_NEAR(g->total_ms, 0.75, 1e-9);
  EXPECT_FALSE(probe.gc_pauses_of("go", "bin/go_nethttp"));  // logging not turned on
  EXPECT_FALSE(probe.gc_pauses_of("cpp", "bin/event_loop"));
  auto m = probe.machine(0);
  ASSERT_TRUE(m);
  EXPECT_GE(m->cpus, 1);
  EXPECT_GE(m->harness_s, 0);
  lab::log_window gone(dir / "missing");
  EXPECT_EQ(gone.text_since(), "");
}

TEST(Noise, PageFaultsOfThisProcess) {
  auto before = lab::sample_process(getpid());
  std::vector<char> touched(16 << 20);
  for (size_t i = 0; i < touched.size(); i += 4096) touched[i] = 1;
  auto after = lab::sample_process(getpid());
  EXPECT_GT(after.minor_faults, before.minor_faults + 100);  // 4096 new pages, most faulted in
  EXPECT_GE(after.major_faults, before.major_faults);
}

TEST(Noise, FingerprintInContext) {
  auto fp = lab::fingerprint_for_context({{0}, {0}}, 0.2);
  ASSERT_TRUE(fp.contains("figures")) << fp.dump();
  EXPECT_TRUE(fp["figures"].contains("syscall_ns"));
  auto bad = lab::fingerprint_for_context({{4095}, {0}}, 0.1);
  EXPECT_TRUE(bad.contains("error")) << bad.dump();
}

}  // namespace
