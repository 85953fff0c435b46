// load_engine: runs one lab_load measurement and returns what it saw.
//
// Open loop (--rate): every request has an intended send time on a fixed schedule (constant
// spacing or Poisson arrivals); a steady timer wakes up, picks up every request whose time
// has come and sends each on an idle keep-alive connection, opening connections lazily up to
// the cap. A request that finds no free connection waits in a FIFO queue. Latency runs from
// the intended send time to the last byte of the response, so a server stall shows in the
// percentiles (no coordinated omission). Send lag (pick-up minus intended time) is the
// generator's own tardiness.
// Closed loop (--connections without --rate): each connection sends its next request as soon
// as the previous answer arrived, like wrk; latency runs from the write to the last byte.
//
// Each of the T worker threads owns an io_context, its connections, its share of the
// schedule (rate R/T, offsets interleaved) and its histograms: nothing is shared while the
// run lasts; results are merged at the end. The run is bounded: sending stops at
// warmup + duration, answers are awaited at most --timeout more, and whatever is still
// unanswered then counts as a timeout.
// run_load is blocking and may be called from any thread; runs do not share state.
#pragma once

#include "load_options.h"
#include "load_result.h"

namespace lab::load {

// Runs the measurement described by `options` (already validated). Throws std::runtime_error
// only for failures of the machine itself (e.g. no threads); a server that refuses, stalls or
// misbehaves is reported in the result's errors.
load_result run_load(const load_options& options);

}  // namespace lab::load
