#include "compute.h"

namespace lab {

std::uint32_t compute_xorshift(std::uint32_t n) noexcept {
  std::uint32_t x = compute_seed;
  for (std::uint32_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

}  // namespace lab
