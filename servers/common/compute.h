// compute.h — the /compute workload: N steps of xorshift32 (docs/service-contract.md).
// Pure function, thread-safe. Each step depends on the last, so it cannot be vectorised,
// parallelised or skipped by the optimiser: N units are N units of CPU on every model.
#pragma once
#include <cstdint>

namespace lab {

inline constexpr std::uint32_t compute_seed = 2463534242u;
inline constexpr std::uint32_t compute_max_n = 10'000'000;

constexpr std::uint32_t compute_xorshift(std::uint32_t n) noexcept {
  std::uint32_t x = compute_seed;
  for (std::uint32_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

}  // namespace lab
