#include "cron/spread.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>
#include <vector>

#include "cron/schedule.hpp"

namespace tjf::cron {

namespace {

std::array<unsigned char, 64> sha512(std::string_view data) {
  std::array<unsigned char, 64> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha512(), nullptr) != 1 ||
      length != digest.size()) {
    // Only fails on allocation failure or a crippled OpenSSL: nothing sensible to fall back to.
    throw std::runtime_error("SHA-512 failed");
  }
  return digest;
}

struct MacroTemplate {
  std::string_view name;
  std::array<bool, 5> spread;  // which of the 5 fields get a drawn value; the others are `*`
};

// Upstream's AT_MAPPING: "0 * * * *", "0 0 * * *", "0 0 * * 0", "0 0 1 * *", "0 0 1 1 *".
constexpr std::array<MacroTemplate, 5> kMacros{{
    {"@hourly", {true, false, false, false, false}},
    {"@daily", {true, true, false, false, false}},
    {"@weekly", {true, true, false, false, true}},
    {"@monthly", {true, true, true, false, false}},
    {"@yearly", {true, true, true, true, false}},
}};

// Draw ranges per field. Upstream draws the day of month from 1-31; we draw from 1-28 so that every
// month has the day. randint(1, 28) consumes the same 5-bit draws as randint(1, 31) and accepts the
// same value whenever that value is <= 28, so a job whose upstream day was 1-28 keeps its day (and,
// for @yearly, its month); only jobs upstream would have put on day 29-31 move.
constexpr std::array<std::array<int, 2>, 5> kDrawRanges{{{0, 59}, {0, 23}, {1, 28}, {1, 12}, {0, 6}}};

}  // namespace

PythonRandom::PythonRandom(std::string_view seed) {
  const auto digest = sha512(seed);
  // Big-endian bytes of the seed integer, leading zero bytes dropped (they do not count towards
  // the integer's bit length, hence not towards the key length).
  std::vector<unsigned char> bytes(seed.begin(), seed.end());
  bytes.insert(bytes.end(), digest.begin(), digest.end());
  const auto first = std::find_if(bytes.begin(), bytes.end(), [](unsigned char b) { return b != 0; });
  bytes.erase(bytes.begin(), first);
  // 32-bit words, least significant first.
  std::vector<std::uint32_t> key((bytes.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::size_t fromLsb = bytes.size() - 1 - i;
    key[fromLsb / 4] |= static_cast<std::uint32_t>(bytes[i]) << (8 * (fromLsb % 4));
  }
  if (key.empty()) key.push_back(0);
  initByArray(key.data(), key.size());
}

void PythonRandom::initGenrand(std::uint32_t s) {
  mt_[0] = s;
  for (int i = 1; i < kN; ++i) {
    mt_[i] = 1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
  }
  mti_ = kN;
}

void PythonRandom::initByArray(const std::uint32_t* key, std::size_t length) {
  initGenrand(19650218U);
  int i = 1;
  std::size_t j = 0;
  for (std::size_t k = std::max<std::size_t>(kN, length); k > 0; --k) {
    mt_[i] =
        (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= length) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941U)) - static_cast<std::uint32_t>(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000U;
}

std::uint32_t PythonRandom::genrandUint32() {
  constexpr int kM = 397;
  constexpr std::uint32_t kMatrixA = 0x9908b0dfU;
  constexpr std::uint32_t kUpperMask = 0x80000000U;
  constexpr std::uint32_t kLowerMask = 0x7fffffffU;
  if (mti_ >= kN) {
    if (mti_ == kN + 1) initGenrand(5489U);
    auto twist = [&](int kk, int next, int far) {
      const std::uint32_t y = (mt_[kk] & kUpperMask) | (mt_[next] & kLowerMask);
      mt_[kk] = mt_[far] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
    };
    int kk = 0;
    for (; kk < kN - kM; ++kk) twist(kk, kk + 1, kk + kM);
    for (; kk < kN - 1; ++kk) twist(kk, kk + 1, kk + (kM - kN));
    twist(kN - 1, 0, kM - 1);
    mti_ = 0;
  }
  std::uint32_t y = mt_[mti_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

std::uint32_t PythonRandom::getrandbits(int k) {
  if (k <= 0) return 0;
  return genrandUint32() >> (32 - k);
}

std::int64_t PythonRandom::randint(std::int64_t lo, std::int64_t hi) {
  const auto n = static_cast<std::uint64_t>(hi - lo + 1);
  const int k = std::bit_width(n);  // Python's n.bit_length(), not of n-1 (n can be 1)
  std::uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return lo + static_cast<std::int64_t>(r);
}

std::string spreadMacro(std::string_view macro, std::string_view tool, std::string_view job) {
  const auto it =
      std::find_if(kMacros.begin(), kMacros.end(), [&](const MacroTemplate& m) { return m.name == macro; });
  if (it == kMacros.end()) return {};
  std::string seed;
  seed.append(tool).append(" ").append(job);
  PythonRandom rng(seed);
  std::string out;
  for (std::size_t i = 0; i < 5; ++i) {
    if (i > 0) out += ' ';
    // A `*` field consumes no draw, exactly as upstream.
    out += it->spread[i] ? std::to_string(rng.randint(kDrawRanges[i][0], kDrawRanges[i][1])) : "*";
  }
  return out;
}

}  // namespace tjf::cron
