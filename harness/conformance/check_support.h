// What every conformance check shares: the failure type, request builders, response
// expectations (status, body, media type, required headers, close/keep-alive) and printable
// renderings for failure details. A check throws check_failure with a sentence that names the
// request and the fault; run_check turns it into the result's detail. No state is shared
// between checks: each opens its own connections, so checks may run on several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "conformance.h"
#include "http_client.h"

namespace lab::checks {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A failed expectation inside a check.
struct check_failure : std::runtime_error {
  using runtime_error::runtime_error;
};

inline void expect(bool condition, const std::string& what) {
  if (!condition) throw check_failure(what);
}

// Printable, truncated rendering of bytes (CR, LF, quotes and control bytes escaped).
std::string show(std::string_view bytes, size_t max = 160);
std::string lower(std::string s);
long long ms_since(clock::time_point start);

// The contract's /compute: n steps of xorshift32 from 2463534242.
uint32_t compute(uint64_t n);

// "GET target HTTP/1.1" with a Host header and any extra header lines (each ending in CRLF).
std::string get(const std::string& target, const std::string& extra_headers = "");
std::string head(const std::string& target);

// One check's context: the options plus a connection factory and a note for passing results.
struct context {
  const conformance_options& options;
  std::string note;

  http_connection connect() const;
  // How long a server may take to close a connection it must close after a response: short
  // of the idle timeout, so that an idle close cannot pass for it (0.7 s for S = 1, 1.5 s
  // for S >= 2; closing right after the write takes far less even on a busy machine).
  std::chrono::milliseconds close_wait() const;
  std::string close_wait_text() const;
};

// "200 \"Hello, World!\"" for failure details.
std::string describe(const http_response& r);

// Transport errors (timeout, close, garbled bytes) become check failures that say which
// request they belong to; `hint` names the likely fault ("dropped?", "closed as idle?").
http_response receive(http_connection& c, const std::string& what,
                      std::chrono::milliseconds timeout = 5s, bool head_request = false,
                      const std::string& hint = "");
// send() then receive(); a request starting with "HEAD " is read without a body.
http_response ask(http_connection& c, const std::string& request, const std::string& what,
                  std::chrono::milliseconds timeout = 5s, const std::string& hint = "");
// send(), with a failure naming the request (the peer may already have closed).
void send(http_connection& c, std::string_view bytes, const std::string& what);

// Media type without parameters must equal type ("text/plain; charset=utf-8" is text/plain
// for a reference server; the C++ servers must send exactly type when exact bytes are asked).
void expect_content_type(const context& ctx, const http_response& r, const std::string& type,
                         const std::string& what);
// Status, body, media type and a Content-Length equal to the body's size.
void expect_response(const context& ctx, const http_response& r, int status,
                     const std::string& type, const std::string& body, const std::string& what);
// Server, Date (an IMF-fixdate within a minute of now), Content-Type and Content-Length, each
// present once and non-empty; Content-Length matches the body unless it answered a HEAD.
void expect_required_headers(const http_response& r, const std::string& what, bool head_request);
// Why value is not a current RFC 7231 IMF-fixdate, or nullopt.
std::optional<std::string> imf_fixdate_problem(const std::string& value);

// True if a comma-separated header (any of its lines) holds token, case-insensitively.
bool has_token(const http_response& r, const std::string& header, const std::string& token);

// The response says Connection: close, the peer closes within close_wait(), and nothing
// follows the response.
void expect_closes(const context& ctx, http_connection& c, const http_response& r,
                   const std::string& what);
// One more GET /plaintext on c is answered (the connection was kept alive).
void expect_still_open(const context& ctx, http_connection& c, const std::string& what);
// On a new connection: request → status with the contract's text/plain body, then close.
void expect_error_and_close(const context& ctx, const std::string& request, int status,
                            const std::string& body, const std::string& what);

// A request whose header section — the request line through the blank line that ends the
// header, both CRLFs included — is exactly `bytes` long: GET target, a Host header, 32-byte
// X-Fill-NNNN headers and one X-Fill header padded to size. Small headers make a parser that
// forgets the fields it parsed in an earlier read undercount. Every header is "Name: value"
// with one space, so servers that rebuild the size from parsed fields (the Go and Node.js
// references) count the same bytes.
std::string request_with_header_section(size_t bytes, const std::string& target = "/plaintext");

}  // namespace lab::checks
