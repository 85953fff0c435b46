#include "http_session.h"

#include <cstring>

namespace lab {

http_session::http_session() : input_(new char[input_capacity]) { output_.reserve(512); }

std::span<char> http_session::read_space() {
  // Slide unparsed bytes to the front so the free space is contiguous. They are at most one
  // partial request (bounded by the header limit), so the copy is small.
  if (input_begin_ > 0) {
    std::memmove(input_.get(), input_.get() + input_begin_, input_end_ - input_begin_);
    input_end_ -= input_begin_;
    input_begin_ = 0;
  }
  return {input_.get() + input_end_, input_capacity - input_end_};
}

void http_session::commit_read(std::size_t n) { input_end_ += n; }

next_step http_session::advance() {
  while (!closing_) {
    if (input_begin_ == input_end_) return {next_step::kind::read};
    const http::parse_result parsed =
        parser_.parse({input_.get() + input_begin_, input_end_ - input_begin_});
    input_begin_ += parsed.consumed;
    if (parsed.status == http::parse_status::need_more) {
      // The buffer holds at most a header's worth of unparsed bytes (the parser reports
      // 431 beyond that), so read_space() always has room.
      return {next_step::kind::read};
    }
    if (parsed.status == http::parse_status::bad) {
      append_error_response(parsed.error_status, output_);
      closing_ = true;
      break;
    }
    pending_ = handle_request(parser_.request(), output_);
    if (pending_.reply.connection == http::connection_header::close) closing_ = true;
    switch (pending_.what) {
      case service_action::kind::responded: break;
      case service_action::kind::sleep: return {next_step::kind::sleep, pending_.amount};
      case service_action::kind::compute: return {next_step::kind::compute, pending_.amount};
      case service_action::kind::gateway: return {next_step::kind::gateway, 0, pending_.gateway};
    }
  }
  return {next_step::kind::close};
}

void http_session::finish_sleep() { append_sleep_response(pending_.reply, pending_.amount, output_); }

void http_session::finish_compute(std::uint32_t result) {
  append_compute_response(pending_.reply, result, output_);
}

void http_session::finish_gateway(const gateway_result& result) {
  append_gateway_response(pending_.reply, pending_.gateway, result, output_);
}

}  // namespace lab
