// compute.h — the /compute workload: N steps of xorshift32 (docs/service-contract.md).
// Pure function, thread-safe. Each step depends on the last, so it cannot be vectorised,
// parallelised or skipped by the optimiser: N units are N units of CPU on every model.
#pragma once
#include <cstdint>

namespace lab {

inline constexpr std::uint32_t compute_seed = 2463534242u;
inline constexpr std::uint32_t compute_max_n = 10'000'000;

// Defined out of line so that every model runs the very same machine code for /compute,
// whatever the inliner does in a coroutine, a fiber or a callback.
std::uint32_t compute_xorshift(std::uint32_t n) noexcept;

}  // namespace lab
