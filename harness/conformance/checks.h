// The conformance checks, one function each, grouped by the file that holds them. Each
// throws check_failure (check_support.h) naming the request and the fault, or returns
// normally (optionally leaving a note in ctx.note). conformance.cpp lists them by name.
#pragma once

#include "check_support.h"

namespace lab::checks {

// checks_basic.cpp: endpoints, query values, HEAD, headers, errors that keep the connection.
void check_plaintext(context& ctx);
void check_json(context& ctx);
void check_compute_vectors(context& ctx);
void check_compute_bad_requests(context& ctx);
void check_sleep_bad_requests(context& ctx);
void check_query_values(context& ctx);
void check_head(context& ctx);
void check_required_headers(context& ctx);
void check_not_found(context& ctx);
void check_method_not_allowed(context& ctx);
void check_exact_plaintext_bytes(context& ctx);
void check_exact_json_bytes(context& ctx);

// checks_framing.cpp: keep-alive, pipelining, splitting, limits, bodies, closing.
void check_keep_alive(context& ctx);
void check_split_request(context& ctx);
void check_pipelining(context& ctx);
void check_pipelining_behind_sleep(context& ctx);
void check_pipelining_with_head_and_errors(context& ctx);
void check_pipelining_after_close(context& ctx);
void check_pipelining_split(context& ctx);
void check_malformed_request_line(context& ctx);
void check_malformed_header(context& ctx);
void check_header_too_large(context& ctx);
void check_header_limit_boundary(context& ctx);
void check_payload_too_large(context& ctx);
void check_body_skipped(context& ctx);
void check_connection_close(context& ctx);
void check_http10_close(context& ctx);
void check_http10_keep_alive(context& ctx);

// checks_timing.cpp: idle timeout, busy time, sleep duration and concurrency.
void check_idle_timeout(context& ctx);
void check_compute_is_not_idle(context& ctx);
void check_busy_is_not_idle(context& ctx);
void check_sleep_duration(context& ctx);
void check_concurrent_sleep(context& ctx);

// checks_gateway.cpp: /gateway against a live downstream (or one that refuses: bad_gateway).
void check_gateway_parallel(context& ctx);
void check_gateway_sequential(context& ctx);
void check_gateway_bad_requests(context& ctx);
void check_gateway_deadline(context& ctx);
void check_gateway_no_leak(context& ctx);
void check_gateway_head(context& ctx);
void check_gateway_bad_gateway(context& ctx);

}  // namespace lab::checks
