#include "fingerprint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace {

TEST(FingerprintStats, MedianOddEvenAndSpread) {
  auto odd = lab::summarize_samples({5, 1, 3});
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 5);
  EXPECT_EQ(odd.samples, (std::vector<double>{5, 1, 3}));  // kept in measured order
  auto even = lab::summarize_samples({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(even.median, 2.5);
  EXPECT_DOUBLE_EQ(lab::summarize_samples({}).median, 0);
}

TEST(FingerprintCycle, IsOneCycleThroughEverySlot) {
  for (size_t n : {2u, 3u, 17u, 1000u}) {
    auto next = lab::random_cycle(n, 42);
    std::set<size_t> seen;
    size_t at = 0;
    for (size_t step = 0; step < n; ++step) {
      EXPECT_TRUE(seen.insert(at).second) << "slot " << at << " visited twice, n=" << n;
      at = next[at];
    }
    EXPECT_EQ(at, 0u) << "the chase does not come back after n steps, n=" << n;
    EXPECT_EQ(seen.size(), n);
  }
  EXPECT_EQ(lab::random_cycle(100, 7), lab::random_cycle(100, 7));
  EXPECT_NE(lab::random_cycle(100, 7), lab::random_cycle(100, 8));
}

TEST(FingerprintSize, Formats) {
  EXPECT_EQ(lab::format_size(16 << 10), "16KiB");
  EXPECT_EQ(lab::format_size(64 << 20), "64MiB");
  EXPECT_EQ(lab::format_size(1536), "1536B");
  EXPECT_EQ(lab::format_size(1u << 30), "1GiB");
}

TEST(FingerprintJson, RoundTripsAndNamesBadFields) {
  lab::fingerprint fp;
  fp.cpu = 1;
  fp.repetitions = 3;
  fp.figures["syscall_ns"] = lab::summarize_samples({100, 110, 90});
  fp.other_cpus[0]["compute_ns"] = lab::summarize_samples({1, 2, 3});
  fp.system["clocksource"] = "tsc";
  auto back = lab::fingerprint_from_json(fp.to_json());
  EXPECT_EQ(back.cpu, 1);
  EXPECT_DOUBLE_EQ(back.figures.at("syscall_ns").median, 100);
  EXPECT_DOUBLE_EQ(back.other_cpus.at(0).at("compute_ns").max, 3);
  EXPECT_EQ(back.system.at("clocksource"), "tsc");
  auto broken = fp.to_json();
  broken["figures"]["syscall_ns"].erase("median");
  try {
    lab::fingerprint_from_json(broken);
    FAIL() << "a figure without a median was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("syscall_ns"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lab::fingerprint_from_json(nlohmann::json{{"cpu", 0}}), std::invalid_argument);
}

// A short real run: every figure present, positive and ordered the way any machine orders them
// (generous: only relations that hold by orders of magnitude on a busy machine).
TEST(FingerprintRun, ShortRunGivesPlausibleFigures) {
  lab::fingerprint_options options;
  options.seconds = 0.4;
  options.repetitions = 3;
  options.chase_bytes = {16 << 10, 64 << 20};
  options.bandwidth_bytes = 8 << 20;
  auto fp = lab::run_fingerprint(options);
  for (const char* name : {"syscall_ns", "clock_gettime_ns", "compute_ns", "context_switch_ns",
                           "chase_16KiB_ns", "chase_64MiB_ns", "read_gbps", "copy_gbps"}) {
    ASSERT_TRUE(fp.figures.count(name)) << name;
    const auto& s = fp.figures.at(name);
    EXPECT_EQ(s.samples.size(), 3u) << name;
    EXPECT_GT(s.min, 0) << name;
    EXPECT_LE(s.min, s.median) << name;
    EXPECT_LE(s.median, s.max) << name;
  }
  EXPECT_LT(fp.figures.at("chase_16KiB_ns").median, fp.figures.at("chase_64MiB_ns").median);
  EXPECT_LT(fp.figures.at("compute_ns").median, fp.figures.at("context_switch_ns").median);
  EXPECT_LT(fp.wall_s, 10);
}

TEST(FingerprintRun, RefusesAMissingCpu) {
  lab::fingerprint_options options;
  options.seconds = 0.1;
  options.repetitions = 1;
  options.cpu = 4096;
  EXPECT_THROW(lab::run_fingerprint(options), std::runtime_error);
}

// The tool itself: JSON on stdout, a named error and non-zero exit for a bad option.
TEST(FingerprintTool, JsonAndErrors) {
  const char* bin = std::getenv("LAB_BIN");
  ASSERT_TRUE(bin) << "LAB_BIN not set";
  const std::string tool = std::string(bin) + "/lab_fingerprint";
  ASSERT_TRUE(std::filesystem::exists(tool)) << tool;
  const std::string out = testing::TempDir() + "/fingerprint.json";
  ASSERT_EQ(std::system((tool + " --json --seconds 0.5 --repetitions 2 > " + out).c_str()), 0);
  std::ifstream in(out);
  auto j = nlohmann::json::parse(in);
  auto fp = lab::fingerprint_from_json(j);
  EXPECT_EQ(fp.repetitions, 2);
  EXPECT_TRUE(fp.figures.count("chase_64MiB_ns"));
  EXPECT_NE(std::system((tool + " --seconds -1 2>/dev/null").c_str()), 0);
  EXPECT_NE(std::system((tool + " --cpu 4096 --seconds 0.1 2>/dev/null").c_str()), 0);
}

}  // namespace

// Two hosts a VM names alike ("AMD EPYC") must still tell apart: family/model, microcode,
// cache, the TSC-derived bogomips and the listed flags, from the first CPU's block only.
TEST(FingerprintCpuIdentity, ReadsWhatTheModelNameHides) {
  const std::string cpuinfo =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
      "model name\t: AMD EPYC\nstepping\t: 1\nmicrocode\t: 0x1000065\ncache size\t: 1024 KB\n"
      "flags\t\t: fpu avx2 sha_ni hypervisor avx512f fsrm\nbogomips\t: 5192.24\n\n"
      "processor\t: 1\ncpu family\t: 25\nmodel\t\t: 17\nflags\t\t: fpu\n";
  auto id = lab::cpu_identity(cpuinfo);
  EXPECT_EQ(id.at("cpu_family_model_stepping"), "26/2/1");
  EXPECT_EQ(id.at("cpu_microcode"), "0x1000065");
  EXPECT_EQ(id.at("cpu_cache_size"), "1024 KB");
  EXPECT_EQ(id.at("cpu_bogomips"), "5192.24");
  EXPECT_EQ(id.at("cpu_features"), "avx2 avx512f sha_ni fsrm hypervisor");
  EXPECT_TRUE(lab::cpu_identity("").empty());
  EXPECT_EQ(lab::cpu_identity("cpu family\t: 23\n").at("cpu_family_model_stepping"), "23/?/?");
}
