#include "hostile.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <thread>

#include "attacks.h"

namespace lab {

namespace {

using namespace std::chrono_literals;
using attack::finish;
using attack::raw_reply;
using clock = std::chrono::steady_clock;

struct hostile_failure : std::runtime_error {
  using runtime_error::runtime_error;
};

// Printable, truncated bytes for details.
std::string show(std::string_view bytes, size_t max = 80) {
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  out += "\"";
  if (bytes.size() > max) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

// What a hostile input may get back (docs/service-contract.md, "Hostile input").
enum class outcome {
  // Refused: every response an error (4xx or 5xx), then the server closes within the time
  // limit, or it closes without a response. Nothing it sent may be a success.
  reject,
  // Request smuggling's last line of defence (RFC 9112 6.1, Content-Length with
  // Transfer-Encoding): at most one response, of any status, then the server closes; the
  // request hidden in the body is never answered.
  one_answer_then_close,
  // Either refused, or every request in it answered 200 "Hello, World!" in order (the input
  // ends with a Connection: close request, so the server closes after it): what the RFC leaves
  // to the server, but the framing must stay right.
  answer_or_reject,
  // Nothing to judge but survival and no success: unframed garbage.
  survive,
  // Nothing to judge but survival: resets and half-closes, after which a server may or may
  // not answer what it read.
  anything,
};

struct hostile_input {
  std::string what;                 // names the input in details
  std::vector<std::string> pieces;  // sent in order
  outcome expected;
  int answers = 1;                  // answer_or_reject: how many 200s a server that accepts sends
  finish how = finish::wait;
  std::chrono::milliseconds pause{0};
};

const std::string host_line = "Host: 127.0.0.1\r\n";
const std::string closing_get = "GET /plaintext HTTP/1.1\r\n" + host_line + "Connection: close\r\n\r\n";
const std::string plain_get = "GET /plaintext HTTP/1.1\r\n" + host_line + "\r\n";
// The request a smuggling attempt hides in a body: any answer to it is a fault.
const std::string smuggled = "GET /smuggled HTTP/1.1\r\n" + host_line + "\r\n";

std::string get_with(const std::string& extra_headers, const std::string& target = "/plaintext") {
  return "GET " + target + " HTTP/1.1\r\n" + host_line + extra_headers + "\r\n";
}

// A rejected input followed by a well-formed request on the same connection: a server that
// answers the hostile bytes with an error but keeps reading would answer it 200.
hostile_input rejected(std::string what, std::string bytes) {
  return {std::move(what), {std::move(bytes) + plain_get}, outcome::reject};
}

// Judges one input's reply; throws hostile_failure naming the input.
void judge(const hostile_input& input, const raw_reply& reply, std::chrono::milliseconds limit,
           std::string& seen) {
  const std::string name = input.what;
  if (!reply.connected) throw hostile_failure(name + ": could not connect");
  bool garbled = false;
  auto responses = attack::split_responses(reply.bytes, garbled);
  std::string statuses;
  for (const auto& r : responses) statuses += (statuses.empty() ? "" : ",") + std::to_string(r.status);
  const std::string got = (responses.empty() ? "no response" : "status " + statuses) +
                          (reply.closed ? ", closed" : ", still open after " +
                                                           std::to_string(limit.count()) + " ms");
  seen = got;
  auto fail = [&](const std::string& why) {
    throw hostile_failure(name + ": " + why + " (got " + got + (garbled ? ", then " + show(reply.bytes.substr(reply.bytes.rfind("HTTP/1.") == std::string::npos ? 0 : reply.bytes.rfind("HTTP/1."))) : "") + ")");
  };
  auto is_success = [](int status) { return status >= 100 && status < 400; };
  auto all_errors = std::all_of(responses.begin(), responses.end(),
                                [&](const auto& r) { return !is_success(r.status); });
  const bool refused = all_errors && !garbled && reply.closed;
  switch (input.expected) {
    case outcome::reject:
      if (!all_errors) fail("a success answer to a request the contract refuses (expected 4xx/5xx and close)");
      if (garbled) fail("bytes that are not an HTTP response");
      if (!reply.closed) fail("the connection stayed open (expected an error and close)");
      return;
    case outcome::one_answer_then_close:
      if (responses.size() > 1)
        fail("answered more than one request: the request hidden in the body was served");
      if (garbled) fail("bytes that are not an HTTP response");
      if (!reply.closed) fail("the connection stayed open after it (RFC 9112 6.1: it must close)");
      return;
    case outcome::answer_or_reject: {
      if (refused) return;
      const bool all_answered =
          static_cast<int>(responses.size()) == input.answers && !garbled && reply.closed &&
          std::all_of(responses.begin(), responses.end(), [](const auto& r) {
            return r.status == 200 && r.body == "Hello, World!";
          });
      if (!all_answered)
        fail("neither refused (errors, then close) nor answered as " +
             std::to_string(input.answers) + " request(s) of 200 \"Hello, World!\"");
      return;
    }
    case outcome::survive:
      if (!all_errors) fail("a success answer to bytes that hold no valid request");
      return;
    case outcome::anything:
      return;
  }
}

// Runs inputs one after the other, each on its own connection; "" or the first failure.
std::string run_inputs(const hostile_options& o, const std::vector<hostile_input>& inputs,
                       std::string& note) {
  constexpr auto limit = 3000ms;
  int refused = 0, answered = 0;
  for (const auto& input : inputs) {
    raw_reply reply = attack::exchange(o.host, o.port, input.pieces, limit, input.pause, input.how);
    std::string seen;
    judge(input, reply, limit, seen);
    bool garbled = false;
    auto responses = attack::split_responses(reply.bytes, garbled);
    const bool any_success = std::any_of(responses.begin(), responses.end(),
                                         [](const auto& r) { return r.status < 400; });
    any_success ? ++answered : ++refused;
  }
  note = std::to_string(inputs.size()) + " inputs: " + std::to_string(refused) +
         " refused or closed, " + std::to_string(answered) + " answered";
  return "";
}

// --- The categories -------------------------------------------------------------------------

std::vector<hostile_input> request_line_inputs() {
  return {
      rejected("a request line with a fourth word", "GET /plaintext HTTP/1.1 extra\r\n" + host_line + "\r\n"),
      // RFC 9112 3: a recipient MAY split the request line on any run of whitespace.
      {"two spaces after the method", {"GET  /plaintext HTTP/1.1\r\n" + host_line + "\r\n" + closing_get},
       outcome::answer_or_reject, 2},
      rejected("a space inside the target", "GET /plain text HTTP/1.1\r\n" + host_line + "\r\n"),
      {"tabs between the words", {"GET\t/plaintext\tHTTP/1.1\r\n" + host_line + "\r\n" + closing_get},
       outcome::answer_or_reject, 2},
      rejected("no method", " /plaintext HTTP/1.1\r\n" + host_line + "\r\n"),
      rejected("no version (HTTP/0.9 style)", "GET /plaintext\r\n" + host_line + "\r\n"),
      rejected("version HTTP/2.0 in HTTP/1 syntax", "GET /plaintext HTTP/2.0\r\n" + host_line + "\r\n"),
      rejected("version HTTP/9.9", "GET /plaintext HTTP/9.9\r\n" + host_line + "\r\n"),
      rejected("version HTTP/1", "GET /plaintext HTTP/1\r\n" + host_line + "\r\n"),
      rejected("version HTTX/1.1", "GET /plaintext HTTX/1.1\r\n" + host_line + "\r\n"),
      rejected("version HTTP/1.1.1", "GET /plaintext HTTP/1.1.1\r\n" + host_line + "\r\n"),
      rejected("version HTTP/01.1", "GET /plaintext HTTP/01.1\r\n" + host_line + "\r\n"),
      rejected("a control byte in the method", std::string("G\x01T /plaintext HTTP/1.1\r\n") + host_line + "\r\n"),
      rejected("a request line of spaces", "   \r\n" + host_line + "\r\n"),
  };
}

std::vector<hostile_input> smuggling_inputs() {
  const std::string body_cl = std::to_string(smuggled.size());
  const std::string chunked_end = "0\r\n\r\n";
  const std::string cl_te = std::to_string(chunked_end.size() + smuggled.size());
  return {
      rejected("two different Content-Length values",
               get_with("Content-Length: 0\r\nContent-Length: " + body_cl + "\r\n") + smuggled),
      rejected("a Content-Length list of different values",
               get_with("Content-Length: 0, " + body_cl + "\r\n") + smuggled),
      rejected("Content-Length with a sign", get_with("Content-Length: +" + body_cl + "\r\n") + smuggled),
      rejected("Content-Length in hexadecimal", get_with("Content-Length: 0x10\r\n") + std::string(16, 'a')),
      rejected("Content-Length that overflows 64 bits",
               get_with("Content-Length: 99999999999999999999999999\r\n") + smuggled),
      rejected("a negative Content-Length", get_with("Content-Length: -1\r\n") + smuggled),
      {"Content-Length and Transfer-Encoding: chunked",
       {get_with("Content-Length: " + cl_te + "\r\nTransfer-Encoding: chunked\r\n") + chunked_end +
        smuggled + plain_get},
       outcome::one_answer_then_close},
      {"Transfer-Encoding: chunked before Content-Length",
       {get_with("Transfer-Encoding: chunked\r\nContent-Length: " + cl_te + "\r\n") + chunked_end +
        smuggled + plain_get},
       outcome::one_answer_then_close},
      rejected("Transfer-Encoding that does not end in chunked",
               get_with("Transfer-Encoding: chunked, xcompress\r\n") + chunked_end + smuggled),
      rejected("an unknown Transfer-Encoding", get_with("Transfer-Encoding: xchunked\r\n") + chunked_end + smuggled),
      rejected("a chunk size that is not hexadecimal",
               get_with("Transfer-Encoding: chunked\r\n") + "zz\r\nhello\r\n0\r\n\r\n"),
      rejected("a negative chunk size", get_with("Transfer-Encoding: chunked\r\n") + "-5\r\nhello\r\n0\r\n\r\n"),
      rejected("a chunk size that overflows 64 bits",
               get_with("Transfer-Encoding: chunked\r\n") + "fffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
      rejected("chunk data longer than its size",
               get_with("Transfer-Encoding: chunked\r\n") + "5\r\nhelloXXXX\r\n0\r\n\r\n"),
      rejected("a chunk size line without CRLF",
               get_with("Transfer-Encoding: chunked\r\n") + "5 garbage garbage\nhello\r\n0\r\n\r\n" + smuggled),
      {"the same Content-Length twice",
       {get_with("Content-Length: 5\r\nContent-Length: 5\r\n") + "hello" + closing_get},
       outcome::answer_or_reject, 2},
  };
}

std::vector<hostile_input> control_byte_inputs() {
  using namespace std::string_literals;
  auto header = [](const std::string& line) { return get_with(line + "\r\n"); };
  return {
      rejected("NUL in a header value", header("X-Test: a\0b"s)),
      rejected("NUL in a header name", header("X-Te\0st: a"s)),
      rejected("DEL in a header value", header("X-Test: a\x7f" "b")),
      rejected("\\x01 in a header value", header("X-Test: a\x01" "b")),
      rejected("a bare CR in a header value", header("X-Test: a\rb")),
      rejected("a bare LF in a header value", header("X-Test: a\nb")),
      rejected("NUL in the target", "GET /plain\0text HTTP/1.1\r\n"s + host_line + "\r\n"),
      rejected("DEL in the target", "GET /plain\x7ftext HTTP/1.1\r\n" + host_line + "\r\n"),
      rejected("a space before the colon", header("Host2 : x")),
      rejected("a header line without a colon", header("Bad Header")),
      rejected("an empty header name", header(": x")),
      rejected("a control byte in a header name", header("X-\x02Test: a")),
      {"HTAB in a header value", {header("X-Test: a\tb") + closing_get}, outcome::answer_or_reject, 2},
      {"obs-text bytes (0x80-0xff) in a header value",
       {header("X-Test: caf\xc3\xa9 \xff") + closing_get}, outcome::answer_or_reject, 2},
      {"an obs-fold continuation line", {header("X-Test: a\r\n  folded") + closing_get},
       outcome::answer_or_reject, 2},
  };
}

std::vector<hostile_input> oversized_inputs() {
  std::vector<std::string> endless_header;  // 1 MiB of one header line in 64 KiB pieces
  endless_header.push_back("GET /plaintext HTTP/1.1\r\n" + host_line + "X-Endless: ");
  for (int i = 0; i < 16; ++i) endless_header.push_back(std::string(64 * 1024, 'a'));
  std::string chunked_over = get_with("Transfer-Encoding: chunked\r\n");
  for (int i = 0; i < 17; ++i) chunked_over += "10000\r\n" + std::string(0x10000, 'b') + "\r\n";
  chunked_over += "0\r\n\r\n";
  const std::string mib(1024 * 1024, 'c');
  return {
      rejected("a 9 KiB target", "GET /plaintext?" + std::string(9 * 1024, 'a') + " HTTP/1.1\r\n" + host_line + "\r\n"),
      rejected("a 9 KiB header value", get_with("X-Big: " + std::string(9 * 1024, 'a') + "\r\n")),
      rejected("a 64 KiB header section", get_with("X-Big: " + std::string(64 * 1024, 'a') + "\r\n")),
      {"a 1 MiB header line that never ends", endless_header, outcome::reject},
      rejected("a declared 2 MiB body, not sent", get_with("Content-Length: 2097152\r\n")),
      {"a 2 MiB body, sent", {get_with("Content-Length: 2097152\r\n"), mib, mib}, outcome::reject},
      {"a chunked body over 1 MiB", {chunked_over}, outcome::reject},
      {"a 1 MiB body (the limit), then a request",
       {get_with("Content-Length: 1048576\r\n"), mib, closing_get}, outcome::answer_or_reject, 2},
  };
}

std::vector<hostile_input> many_header_inputs() {
  std::string thousands;
  for (int i = 0; i < 3000; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "X-H%04d: v\r\n", i);
    thousands += line;
  }
  std::string tiny;  // 1,500 five-byte headers: ~7.6 KiB, under the 8 KiB limit
  for (int i = 0; i < 1500; ++i) tiny += "a:b\r\n";
  std::string endless_headers = "GET /plaintext HTTP/1.1\r\n" + host_line;
  std::vector<std::string> stream{endless_headers};
  for (int i = 0; i < 64; ++i) stream.push_back(thousands.substr(0, 16 * 1024));
  return {
      rejected("3,000 headers (36 KiB)", get_with(thousands)),
      {"headers streamed without end (1 MiB)", stream, outcome::reject},
      {"1,500 tiny headers under the 8 KiB limit", {get_with(tiny) + closing_get},
       outcome::answer_or_reject, 2},
  };
}

std::vector<hostile_input> garbage_inputs() {
  std::mt19937 random(12345);  // fixed seed: the same garbage every run
  auto noise = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(random() & 0xff);
    return s;
  };
  std::string crlfs;
  for (int i = 0; i < 32 * 1024; ++i) crlfs += "\r\n";
  std::vector<hostile_input> inputs = {
      {"64 KiB of random bytes", {noise(64 * 1024)}, outcome::reject},
      {"a TLS ClientHello", {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + noise(500)},
       outcome::survive},
      {"the HTTP/2 connection preface", {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + std::string(9, '\0')},
       outcome::survive},
      {"64 KiB of CRLF", {crlfs}, outcome::survive},
      {"a request line of NUL bytes", {std::string(64, '\0') + "\r\n\r\n"}, outcome::reject},
  };
  for (int i = 0; i < 40; ++i)
    inputs.push_back({"short random garbage #" + std::to_string(i), {noise(1 + random() % 200)},
                      outcome::survive, 1, finish::reset});
  return inputs;
}

std::vector<hostile_input> half_close_inputs() {
  std::vector<hostile_input> inputs = {
      {"half a request line, then a write shutdown", {"GET /plain"}, outcome::anything, 1, finish::shutdown_write},
      {"half a header, then a write shutdown", {"GET /plaintext HTTP/1.1\r\nHo"}, outcome::anything, 1, finish::shutdown_write},
      {"half a header, then a reset", {"GET /plaintext HTTP/1.1\r\nHo"}, outcome::anything, 1, finish::reset},
      {"a whole request, then a write shutdown", {plain_get}, outcome::anything, 1, finish::shutdown_write},
      {"a body cut short by a reset", {get_with("Content-Length: 100000\r\n") + std::string(1000, 'x')},
       outcome::anything, 1, finish::reset},
      {"a body cut short by a write shutdown",
       {get_with("Content-Length: 100000\r\n") + std::string(1000, 'x')}, outcome::anything, 1,
       finish::shutdown_write},
  };
  // Answers written into reset connections: 200 pipelined requests, reset before reading.
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += plain_get;
  for (int i = 0; i < 50; ++i)
    inputs.push_back({"200 pipelined requests, reset unread #" + std::to_string(i), {burst},
                      outcome::anything, 1, finish::reset});
  for (int i = 0; i < 50; ++i)
    inputs.push_back({"connect, then reset #" + std::to_string(i), {}, outcome::anything, 1, finish::reset});
  return inputs;
}

// --- Resources, probes and the timed attacks -----------------------------------------------

std::string describe(const proc_sample& s) {
  return std::to_string(s.threads) + " threads, " + std::to_string(s.rss_kb / 1024) + " MiB RSS";
}

// Near the baseline: threads within max(16, 10%) — runtimes keep a few workers they started
// on demand — and RSS within max(32 MiB per process, 25%): allocators and garbage-collected
// heaps (V8 in each node_cluster process) keep some of what they grew to, while state kept
// per attacking connection (a stack, buffers of KiBs) over thousands of connections is more.
std::string settle_problem(const proc_sample& before, const proc_sample& after, bool judge_rss) {
  const int thread_margin = std::max(16, before.threads / 10);
  const uint64_t rss_margin_kb = std::max<uint64_t>(
      32 * 1024 * static_cast<uint64_t>(std::max(1, before.processes)), before.rss_kb / 4);
  if (after.processes == 0) return "the server is gone";
  if (after.threads > before.threads + thread_margin)
    return "threads did not come back near the baseline (+" + std::to_string(thread_margin) +
           " allowed)";
  if (judge_rss && after.rss_kb > before.rss_kb + rss_margin_kb)
    return "RSS did not come back near the baseline (+" + std::to_string(rss_margin_kb / 1024) +
           " MiB allowed)";
  return "";
}

// Requests GET /plaintext until it is answered or the limit passes.
attack::probe_result probe_until(const hostile_options& o, std::chrono::milliseconds limit) {
  const auto deadline = clock::now() + limit;
  attack::probe_result last;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return last;
    last = attack::probe_plaintext(o.host, o.port, left);
    if (last.answered) return last;
    std::this_thread::sleep_for(100ms);
  }
}

// A fixed pool may start its threads on demand (java_pool's executor does, up to 200): 300
// connections at once, each with one request, grow it to its size before the baseline, so
// that a pool filling up is not taken for threads that outlive their connections.
void fill_fixed_pool(const hostile_options& o) {
  std::vector<std::thread> clients;
  for (int i = 0; i < 300; ++i)
    clients.emplace_back([&o] {
      attack::exchange(o.host, o.port, {closing_get}, 3000ms);
    });
  for (auto& t : clients) t.join();
}

// The frame every check runs in: baseline, attack, normal request after, resources settle.
hostile_result framed(const std::string& name, const hostile_options& o,
                      const std::function<std::string(hostile_result&)>& attack_body) {
  hostile_result result;
  result.name = name;
  auto first = attack::probe_plaintext(o.host, o.port, o.after_limit);
  if (!first.answered) {
    result.detail = "GET /plaintext before the attack: " + first.error;
    return result;
  }
  if (o.may_starve && o.sample) fill_fixed_pool(o);
  proc_sample before;
  if (o.sample) before = o.sample();
  std::string note;
  try {
    note = attack_body(result);
  } catch (const std::exception& e) {
    result.detail = e.what();
    // Still say whether it is up: a refused input and a dead server are different faults.
    auto after = attack::probe_plaintext(o.host, o.port, 2000ms);
    if (!after.answered) result.detail += "; then GET /plaintext failed too: " + after.error;
    return result;
  }
  if (!result.detail.empty()) return result;
  auto after = probe_until(o, o.after_limit);
  if (!after.answered) {
    result.detail = "GET /plaintext after the attack not answered within " +
                    std::to_string(o.after_limit.count()) + " ms: " + after.error;
    return result;
  }
  if (o.sample) {
    proc_sample now;
    std::string problem;
    for (auto until = clock::now() + o.settle_limit;;) {
      now = o.sample();
      problem = settle_problem(before, now, o.judge_rss);
      if (problem.empty() || clock::now() > until) break;
      std::this_thread::sleep_for(200ms);
    }
    note += "; " + describe(before) + " before, " + describe(now) + " after" +
            (o.judge_rss ? "" : " (RSS not judged)");
    if (!problem.empty()) {
      result.detail = problem + ": " + note;
      return result;
    }
  }
  result.passed = true;
  result.detail = note;
  return result;
}

std::string deep_pipeline(const hostile_options& o) {
  constexpr int depth = 1000, bad_at = 500;
  std::string bytes;
  for (int i = 0; i < depth; ++i)
    bytes += i == bad_at ? get_with("Bad Header\r\n") : plain_get;
  raw_reply reply = attack::exchange(o.host, o.port, {bytes}, 10000ms);
  bool garbled = false;
  auto responses = attack::split_responses(reply.bytes, garbled);
  int ok = 0;
  while (ok < static_cast<int>(responses.size()) && responses[ok].status == 200 &&
         responses[ok].body == "Hello, World!")
    ++ok;
  const std::string got = std::to_string(responses.size()) + " responses, the first " +
                          std::to_string(ok) + " 200" + (reply.closed ? ", closed" : ", not closed");
  const std::string what = "1,000 pipelined GET /plaintext with a malformed header in #501: ";
  if (ok != bad_at)
    throw hostile_failure(what + "expected the 500 before it answered 200 in order (" + got + ")");
  if (responses.size() > static_cast<size_t>(bad_at) + 1)
    throw hostile_failure(what + "requests after the malformed one were answered (" + got + ")");
  if (responses.size() == static_cast<size_t>(bad_at) + 1 && responses.back().status < 400)
    throw hostile_failure(what + "the malformed request was answered " +
                          std::to_string(responses.back().status) + " (" + got + ")");
  if (!reply.closed) throw hostile_failure(what + "the connection stayed open (" + got + ")");
  return what + got;
}

// A swarm held for o.attack while one normal request is asked during it (the attack lasts
// until that request is answered or during_limit passes, whichever is later than o.attack).
std::string swarm_attack(const hostile_options& o, attack::swarm::kind kind, int connections,
                         hostile_result& result) {
  const long limit = attack::raise_fd_limit(connections + 256);
  connections = std::min<int>(connections, static_cast<int>(limit) - 256);
  attack::swarm swarm(o.host, o.port, kind, connections,
                      kind == attack::swarm::kind::slowloris ? 100ms : 250ms);
  const auto started = clock::now();
  swarm.start();
  std::this_thread::sleep_for(200ms);  // the swarm is in place
  auto during = attack::probe_plaintext(o.host, o.port, o.during_limit);
  while (clock::now() - started < o.attack) std::this_thread::sleep_for(20ms);
  const int closed = swarm.closed_by_server();
  swarm.stop();
  result.probed_during = true;
  result.answered_during = during.answered;
  result.during_ms = during.ms;
  const std::string what = std::to_string(swarm.opened()) + " of " + std::to_string(connections) +
                           (kind == attack::swarm::kind::slowloris ? " slowloris" : " idle") +
                           " connections open (" + std::to_string(closed) +
                           " closed by the server during the attack)";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.0f", during.ms);
  if (during.answered) return what + "; a normal request during it answered in " + ms + " ms";
  const std::string starved = what + "; a normal request during it not answered within " +
                              std::to_string(o.during_limit.count()) + " ms (" + during.error + ")";
  if (o.may_starve) return starved + ": recorded, a fixed pool may starve";
  throw hostile_failure(starved);
}

struct check_entry {
  std::string name;
  std::function<std::string(const hostile_options&, hostile_result&)> run;
};

const std::vector<check_entry>& checks() {
  auto inputs = [](std::vector<hostile_input> (*make)()) {
    return [make](const hostile_options& o, hostile_result&) {
      std::string note;
      run_inputs(o, make(), note);
      return note;
    };
  };
  static const std::vector<check_entry> all = {
      {"hostile_request_line", inputs(request_line_inputs)},
      {"hostile_smuggling", inputs(smuggling_inputs)},
      {"hostile_control_bytes", inputs(control_byte_inputs)},
      {"hostile_oversized", inputs(oversized_inputs)},
      {"hostile_many_headers", inputs(many_header_inputs)},
      {"hostile_garbage", inputs(garbage_inputs)},
      {"hostile_half_close_reset", inputs(half_close_inputs)},
      {"hostile_deep_pipeline",
       [](const hostile_options& o, hostile_result&) { return deep_pipeline(o); }},
      {"hostile_idle_flood",
       [](const hostile_options& o, hostile_result& r) {
         return swarm_attack(o, attack::swarm::kind::idle, o.flood_connections, r);
       }},
      {"hostile_slowloris",
       [](const hostile_options& o, hostile_result& r) {
         return swarm_attack(o, attack::swarm::kind::slowloris, o.slow_clients, r);
       }},
  };
  return all;
}

}  // namespace

std::vector<std::string> hostile_check_names() {
  std::vector<std::string> names;
  for (const auto& c : checks()) names.push_back(c.name);
  return names;
}

hostile_result run_hostile_check(const std::string& name, const hostile_options& options) {
  for (const auto& c : checks())
    if (c.name == name) {
      try {
        return framed(name, options, [&](hostile_result& r) { return c.run(options, r); });
      } catch (const std::exception& e) {
        hostile_result r;
        r.name = name;
        r.detail = e.what();
        return r;
      }
    }
  hostile_result r;
  r.name = name;
  r.detail = "unknown hostile check '" + name + "'";
  return r;
}

}  // namespace lab
