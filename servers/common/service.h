// service.h — the lab's service: routing and the handlers of docs/service-contract.md.
// A handler either answers at once (plaintext, json, errors) or asks the model to do the
// work its own way: wait M ms (/sleep), run N units of CPU (/compute) or call the downstream
// K times (/gateway), then finish the response with append_sleep_response /
// append_compute_response / append_gateway_response. Thread-safe (pure).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "request_parser.h"
#include "response_writer.h"

namespace lab {

inline constexpr std::uint32_t sleep_max_ms = 60'000;
inline constexpr std::uint32_t gateway_max_fanout = 64;
inline constexpr std::uint32_t gateway_max_deadline_ms = 600'000;

// A valid /gateway request: K calls of GET /delay?ms=M&i=<index> to the downstream.
struct gateway_call {
  std::uint32_t fanout = 1;       // K, 1..64
  std::uint32_t ms = 0;           // M, 0..60000
  bool sequential = false;        // mode=sequential: call i+1 starts after call i answered
  std::uint32_t deadline_ms = 0;  // 1..600000; 0: no deadline
};

// One downstream answer, as parsed from its JSON body {"i":I,"ms":M}.
struct gateway_answer {
  std::uint32_t i = 0;
  std::uint32_t ms = 0;
};

// What a model's fan-out produced: 200 with calls[0..fanout) in index order, or 502 (a call
// failed) or 504 (the deadline passed first).
struct gateway_result {
  int status = 200;
  std::array<gateway_answer, gateway_max_fanout> calls{};
};

// What a deferred response needs to remember of its request.
struct reply_context {
  bool head_only = false;
  http::connection_header connection = http::connection_header::none;
};

struct service_action {
  enum class kind { responded, sleep, compute, gateway };
  kind what = kind::responded;
  std::uint32_t amount = 0;  // ms for sleep, n for compute
  reply_context reply;
  gateway_call gateway{};    // for gateway
};

// Routes one request. For `responded` the response has been appended to `out`.
service_action handle_request(const http::request& request, std::string& out);

void append_sleep_response(const reply_context& reply, std::uint32_t ms, std::string& out);
void append_compute_response(const reply_context& reply, std::uint32_t result, std::string& out);
// 200 {"fanout":K,"mode":"parallel","calls":[{"i":0,"ms":M},...]}, or 502/504 in text/plain.
void append_gateway_response(const reply_context& reply, const gateway_call& call,
                             const gateway_result& result, std::string& out);
// The /gateway query, or nullopt for a 400 (docs/service-contract.md, "/gateway").
std::optional<gateway_call> parse_gateway_query(std::string_view query);
// A parse error: 400/413/431 with Connection: close.
void append_error_response(int status, std::string& out);

}  // namespace lab
