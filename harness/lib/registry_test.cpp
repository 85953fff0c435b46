#include "registry.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace lab {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json valid_spec() {
  return json::parse(R"({
    "name": "event_loop", "model": "event_loop", "language": "cpp",
    "description": "Boost.Asio completion handlers",
    "start": ["{bin}/event_loop", "--port", "{port}", "--threads", "{threads}",
              "--idle-timeout", "{idle_timeout}"],
    "requires": [], "variants": {"tbb": ["--offload", "tbb"]}
  })");
}

// The message parse_server_spec throws for j, or "" if it accepts it.
std::string error_for(const json& j) {
  try {
    parse_server_spec(j, "servers/x/server.json");
  } catch (const registry_error& e) {
    return e.what();
  }
  return "";
}

// A scratch repository root with servers/<dir>/server.json files.
class scratch_root {
 public:
  scratch_root() {
    char pattern[] = "/tmp/lab-registry-test-XXXXXX";
    root_ = ::mkdtemp(pattern);
  }
  ~scratch_root() { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  const fs::path& path() const { return root_; }

 private:
  fs::path root_;
};

TEST(registry, parses_a_valid_spec) {
  server_spec spec = parse_server_spec(valid_spec(), "servers/event_loop/server.json");
  EXPECT_EQ(spec.name, "event_loop");
  EXPECT_EQ(spec.model, "event_loop");
  EXPECT_EQ(spec.language, "cpp");
  EXPECT_EQ(spec.start.size(), 7u);
  EXPECT_TRUE(spec.enabled);
  EXPECT_FALSE(spec.reference);
  ASSERT_EQ(spec.variants.count("tbb"), 1u);
  EXPECT_EQ(spec.variants.at("tbb"), (std::vector<std::string>{"--offload", "tbb"}));
  EXPECT_EQ(spec.source, "servers/event_loop/server.json");
}

TEST(registry, parses_optional_fields) {
  json j = valid_spec();
  j["requires"] = json::array({{{"command", "go"}, {"package", "golang-go"}}});
  j["built_file"] = "{bin}/go_nethttp";
  j["enabled"] = false;
  j["disabled_reason"] = "needs JDK 21";
  j["reference"] = true;
  server_spec spec = parse_server_spec(j, "s.json");
  ASSERT_EQ(spec.requirements.size(), 1u);
  EXPECT_EQ(spec.requirements[0].command, "go");
  EXPECT_EQ(spec.requirements[0].package, "golang-go");
  EXPECT_EQ(spec.built_file, "{bin}/go_nethttp");
  EXPECT_FALSE(spec.enabled);
  EXPECT_EQ(spec.disabled_reason, "needs JDK 21");
  EXPECT_TRUE(spec.reference);
}

TEST(registry, expected_failures_carry_their_reasons) {
  json j = valid_spec();
  j["reference"] = true;
  j["expected_failures"] = {{"head", "body sent after HEAD"}, {"compute_vectors", "404"}};
  server_spec spec = parse_server_spec(j, "s.json");
  EXPECT_EQ(spec.expected_failures, (std::vector<std::string>{"compute_vectors", "head"}));
  EXPECT_EQ(spec.expected_failure_reasons.at("head"), "body sent after HEAD");
  EXPECT_TRUE(spec.intermittent_failures.empty());
  // "intermittent: " marks a failure that may also pass; the prefix is not part of the text.
  j["expected_failures"] = {{"head", "intermittent: body sent after HEAD"}};
  spec = parse_server_spec(j, "s.json");
  EXPECT_EQ(spec.expected_failure_reasons.at("head"), "body sent after HEAD");
  EXPECT_EQ(spec.intermittent_failures, (std::set<std::string>{"head"}));
  // A bare list would excuse any failure of those checks: refused.
  j["expected_failures"] = json::array({"head"});
  EXPECT_THROW(parse_server_spec(j, "s.json"), registry_error);
  j["expected_failures"] = {{"head", ""}};
  EXPECT_THROW(parse_server_spec(j, "s.json"), registry_error);
  // Only reference servers may declare failures.
  j["reference"] = false;
  j["expected_failures"] = {{"head", "x"}};
  EXPECT_THROW(parse_server_spec(j, "s.json"), registry_error);
}

TEST(registry, bad_model_names_field_and_choices) {
  json j = valid_spec();
  j["model"] = "fibre";
  EXPECT_EQ(error_for(j),
            "servers/x/server.json: field 'model': 'fibre' is not a model; valid: "
            "thread_per_request, thread_pool, event_loop, fiber, coroutine, goroutine, "
            "virtual_thread, multi_process, io_uring, async_task");
}

TEST(registry, bad_language_names_choices) {
  json j = valid_spec();
  j["language"] = "perl";
  std::string error = error_for(j);
  EXPECT_NE(error.find("field 'language': 'perl' is not a language; valid: cpp, c, go, javascript, "
                       "java, rust, python"),
            std::string::npos)
      << error;
}

TEST(registry, unknown_field_is_an_error_listing_valid_fields) {
  json j = valid_spec();
  j["startup"] = json::array({"x"});
  std::string error = error_for(j);
  EXPECT_NE(error.find("servers/x/server.json: field 'startup': unknown field; valid: name, model"),
            std::string::npos)
      << error;
}

TEST(registry, missing_required_fields) {
  for (const char* field : {"name", "model", "language", "description", "start"}) {
    json j = valid_spec();
    j.erase(field);
    EXPECT_EQ(error_for(j), std::string("servers/x/server.json: field '") + field +
                                "': missing (required)");
  }
}

TEST(registry, wrong_types_and_values) {
  json j = valid_spec();
  j["start"] = "event_loop --port {port}";
  EXPECT_NE(error_for(j).find("field 'start': must be an array of strings, got string"),
            std::string::npos);
  j = valid_spec();
  j["start"] = json::array();
  EXPECT_NE(error_for(j).find("field 'start': must name a program"), std::string::npos);
  j = valid_spec();
  j["name"] = "Event Loop";
  EXPECT_NE(error_for(j).find("field 'name': 'Event Loop' must match [a-z0-9_-]+"),
            std::string::npos);
  j = valid_spec();
  j["enabled"] = "no";
  EXPECT_NE(error_for(j).find("field 'enabled': must be true or false, got string"),
            std::string::npos);
  j = valid_spec();
  j["requires"] = json::array({{{"command", "go"}}});
  EXPECT_NE(error_for(j).find("field 'requires': each entry needs a non-empty string \"package\""),
            std::string::npos);
  j = valid_spec();
  j["variants"] = json{{"tbb", "--offload tbb"}};
  EXPECT_NE(error_for(j).find("field 'variants.tbb': must be an array of strings"),
            std::string::npos)
      << error_for(j);
  EXPECT_NE(error_for(json::array()).find("must be a JSON object"), std::string::npos);
}

TEST(registry, load_registry_finds_both_globs_sorted) {
  scratch_root root;
  json a = valid_spec();
  a["name"] = "zeta";
  json b = valid_spec();
  b["name"] = "alpha";
  b["model"] = "goroutine";
  b["language"] = "go";
  b["reference"] = true;
  root.write("servers/zeta/server.json", a.dump());
  root.write("servers/reference/go/server.json", b.dump());
  root.write("servers/common/not_a_server.txt", "x");
  auto specs = load_registry(root.path());
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "alpha");
  EXPECT_TRUE(specs[0].reference);
  EXPECT_EQ(specs[0].source, root.path() / "servers/reference/go/server.json");
  EXPECT_EQ(specs[1].name, "zeta");
}

TEST(registry, load_registry_reports_file_of_a_mistake) {
  scratch_root root;
  json a = valid_spec();
  a["model"] = "fibre";
  root.write("servers/x/server.json", a.dump());
  try {
    load_registry(root.path());
    FAIL() << "expected registry_error";
  } catch (const registry_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("servers/x/server.json: field 'model': 'fibre' is not a model; valid: thread_per_request", 0), 0u)
        << e.what();
  }
}

TEST(registry, load_registry_rejects_invalid_json_and_duplicates) {
  scratch_root root;
  root.write("servers/a/server.json", "{ not json");
  try {
    load_registry(root.path());
    FAIL() << "expected registry_error";
  } catch (const registry_error& e) {
    EXPECT_NE(std::string(e.what()).find("servers/a/server.json: invalid JSON"), std::string::npos);
  }
  root.write("servers/a/server.json", valid_spec().dump());
  root.write("servers/b/server.json", valid_spec().dump());
  try {
    load_registry(root.path());
    FAIL() << "expected registry_error";
  } catch (const registry_error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "servers/b/server.json: field 'name': 'event_loop' is already used by "
                  "servers/a/server.json"),
              std::string::npos)
        << e.what();
  }
}

TEST(registry, placeholders_are_rendered) {
  server_spec spec = parse_server_spec(valid_spec(), "s.json");
  spec.start.push_back("{root}/x:{host}:{tmp}/{unknown}");
  placeholders values;
  values.port = 8123;
  values.threads = 2;
  values.idle_timeout_s = 7;
  values.bin = "/b/bin";
  values.root = "/r";
  values.tmp = "/t/1";
  EXPECT_EQ(render_argv(spec, values),
            (std::vector<std::string>{"/b/bin/event_loop", "--port", "8123", "--threads", "2",
                                      "--idle-timeout", "7", "/r/x:127.0.0.1:/t/1/{unknown}"}));
  EXPECT_EQ(render_placeholders("--downstream={downstream}", values), "--downstream=127.0.0.1:9");
  values.downstream = "127.0.0.1:4000";
  EXPECT_EQ(render_placeholders("{downstream}", values), "127.0.0.1:4000");
}

TEST(registry, variants_are_expanded) {
  json j = valid_spec();
  j["variants"]["asio"] = json::array({"--offload", "asio"});
  auto expanded = expand_variants({parse_server_spec(j, "s.json")});
  ASSERT_EQ(expanded.size(), 3u);
  EXPECT_EQ(expanded[0].name, "event_loop");
  EXPECT_EQ(expanded[0].variants.size(), 2u);
  EXPECT_EQ(expanded[1].name, "event_loop+asio");
  EXPECT_EQ(expanded[2].name, "event_loop+tbb");
  EXPECT_EQ(expanded[2].start.size(), 9u);
  EXPECT_EQ(expanded[2].start[7], "--offload");
  EXPECT_EQ(expanded[2].start[8], "tbb");
  EXPECT_TRUE(expanded[2].variants.empty());
  EXPECT_EQ(expanded[2].model, "event_loop");
}

TEST(registry, unavailable_reasons) {
  placeholders values;
  values.bin = "/nonexistent-lab-bin";
  json j = valid_spec();
  j["start"] = json::array({"sh", "-c", "true"});
  EXPECT_EQ(unavailable_reason(parse_server_spec(j, "s.json"), values), std::nullopt);

  j["enabled"] = false;
  j["disabled_reason"] = "needs JDK 21";
  EXPECT_EQ(unavailable_reason(parse_server_spec(j, "s.json"), values), "disabled: needs JDK 21");

  j = valid_spec();
  j["start"] = json::array({"sh"});
  j["requires"] = json::array({{{"command", "no-such-tool-xyz"}, {"package", "golang-go"}}});
  EXPECT_EQ(unavailable_reason(parse_server_spec(j, "s.json"), values),
            "'no-such-tool-xyz' not found: install Debian package golang-go");

  j = valid_spec();
  j["start"] = json::array({"sh"});
  j["built_file"] = "{bin}/go_nethttp";
  EXPECT_EQ(unavailable_reason(parse_server_spec(j, "s.json"), values),
            "not built: /nonexistent-lab-bin/go_nethttp is missing (run ./lab build)");

  // A C++ server whose binary is not built yet.
  auto reason = unavailable_reason(parse_server_spec(valid_spec(), "s.json"), values);
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(reason->rfind("not built: /nonexistent-lab-bin/event_loop", 0), 0u) << *reason;
}

TEST(registry, kernel_requirement_is_parsed_and_validated) {
  json j = valid_spec();
  j["requires"] = json::array({{{"kernel", "io_uring"}}});
  const server_spec spec = parse_server_spec(j, "s.json");
  ASSERT_EQ(spec.requirements.size(), 1u);
  EXPECT_EQ(spec.requirements[0].kernel, "io_uring");
  j["requires"] = json::array({{{"kernel", "ebpf"}}});
  EXPECT_NE(error_for(j).find("a kernel entry is {\"kernel\": \"io_uring\"} alone"), std::string::npos)
      << error_for(j);
  j["requires"] = json::array({{{"kernel", "io_uring"}, {"package", "x"}}});
  EXPECT_NE(error_for(j).find("a kernel entry"), std::string::npos);
}

TEST(registry, io_uring_forbidden_by_the_sysctl_names_the_file_and_value) {
  char dir_template[] = "/tmp/lab-registry-uring-XXXXXX";
  const fs::path dir = ::mkdtemp(dir_template);
  const fs::path sysctl = dir / "io_uring_disabled";
  std::ofstream(sysctl) << "2\n";
  EXPECT_EQ(io_uring_unavailable_reason(sysctl),
            sysctl.string() + " is 2 (io_uring disabled by the administrator)");
  // 0 (or no such file, as on kernels before 6.6): the answer is whether a ring can be made,
  // which this machine decides; either way an answer names its cause.
  std::ofstream(sysctl) << "0\n";
  const auto reason = io_uring_unavailable_reason(sysctl);
  if (reason) {
    EXPECT_EQ(reason->rfind("io_uring_setup failed: ", 0), 0u) << *reason;
  }
  EXPECT_EQ(io_uring_unavailable_reason(dir / "missing"), reason);
  fs::remove_all(dir);
}

TEST(registry, default_bin_dir_honours_lab_bin) {
  const char* saved = std::getenv("LAB_BIN");
  std::string saved_value = saved ? saved : "";
  ::setenv("LAB_BIN", "/custom/bin", 1);
  EXPECT_EQ(default_bin_dir("/repo"), "/custom/bin");
  ::unsetenv("LAB_BIN");
  EXPECT_EQ(default_bin_dir("/repo"), "/repo/build/release/bin");
  if (saved) ::setenv("LAB_BIN", saved_value.c_str(), 1);
}

}  // namespace
}  // namespace lab

TEST(registry, split_name_list_drops_spaces_and_empty_items) {
  EXPECT_EQ(lab::split_name_list("a, b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(lab::split_name_list("").empty());
}
