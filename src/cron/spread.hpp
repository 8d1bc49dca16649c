// CPython's `random` module, as much of it as macro spreading needs, so a job gets the same
// minute and hour it gets on Toolforge. Internal to the cron module (exposed for tests).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tjf::cron {

class PythonRandom {
 public:
  // random.seed(seed) for a str seed (version 2): the key is the big-endian integer of
  // UTF-8(seed) followed by its SHA-512 digest.
  explicit PythonRandom(std::string_view seed);

  std::uint32_t genrandUint32();
  // random.getrandbits(k) for 0 <= k <= 32.
  std::uint32_t getrandbits(int k);
  // random.randint(lo, hi): rejection sampling on getrandbits(bit_length(n)).
  std::int64_t randint(std::int64_t lo, std::int64_t hi);

 private:
  static constexpr int kN = 624;
  void initGenrand(std::uint32_t s);
  void initByArray(const std::uint32_t* key, std::size_t length);

  std::array<std::uint32_t, kN> mt_{};
  int mti_ = kN + 1;
};

}  // namespace tjf::cron
