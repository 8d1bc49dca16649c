#include "model/quantity.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <regex>

namespace tjf::model {
namespace {

long double suffixMultiplier(std::string_view suffix) {
  static constexpr struct {
    std::string_view suffix;
    long double multiplier;
  } kSuffixes[] = {
      {"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L}, {"Ei", 1152921504606846976.0L}, {"k", 1e3L}, {"M", 1e6L},
      {"G", 1e9L}, {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"m", 1e-3L}, {"u", 1e-6L},
      {"n", 1e-9L},
  };
  for (const auto& s : kSuffixes) {
    if (s.suffix == suffix) return s.multiplier;
  }
  return 0.0L;
}

// Python's Decimal() syntax, finite values only.
bool isDecimal(const std::string& s) {
  static const std::regex kDecimal(R"(^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$)");
  return std::regex_match(s, kDecimal);
}

std::string pythonFloatRepr(long double v) {
  // str(float(x)) for the rounded values we print: shortest repr with at least one decimal.
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(v));
    if (std::strtod(buf, nullptr) == static_cast<double>(v)) break;
  }
  std::string out = buf;
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

}  // namespace

Result<Quantity> parseQuantity(std::string_view text) {
  std::string_view number = text;
  long double multiplier = 1.0L;
  if (!text.empty() && suffixMultiplier(text.substr(text.size() - 1)) != 0.0L) {
    multiplier = suffixMultiplier(text.substr(text.size() - 1));
    number = text.substr(0, text.size() - 1);
  } else if (text.size() >= 2 && suffixMultiplier(text.substr(text.size() - 2)) != 0.0L) {
    multiplier = suffixMultiplier(text.substr(text.size() - 2));
    number = text.substr(0, text.size() - 2);
  }
  const std::string rest(number);
  if (!isDecimal(rest)) {
    return makeError(ErrorCode::kUnprocessable, "Invalid number format: " + rest);
  }
  const long double value = std::strtold(rest.c_str(), nullptr) * multiplier;
  if (!std::isfinite(value) || value < 0) {
    return makeError(ErrorCode::kUnprocessable,
                     "Invalid quantity '" + std::string(text) + "': must be a positive number");
  }
  return Quantity{std::string(text), value};
}

// Saturating: a quantity beyond the int64 range ("8Ei", "1e30") becomes the largest value,
// which every limit refuses, instead of an undefined conversion (found by fuzz/quantity.cpp).
std::int64_t saturatingCeil(long double v) {
  constexpr long double kMax = static_cast<long double>(INT64_MAX);  // exact in a long double
  const long double up = std::ceil(v);
  if (!(up < kMax)) return INT64_MAX;
  return up <= 0 ? 0 : static_cast<std::int64_t>(up);
}

std::int64_t memoryBytes(const Quantity& q) { return saturatingCeil(q.value); }

std::int64_t cpuMillis(const Quantity& q) { return saturatingCeil(q.value * 1000.0L - 1e-9L); }

std::string formatMemoryGi(std::int64_t bytes) {
  // round(value / 1024^3, 3) with half-even, then str(float()).
  const long double gi = static_cast<long double>(bytes) / 1073741824.0L;
  const long double rounded = std::nearbyint(gi * 1000.0L) / 1000.0L;
  return pythonFloatRepr(rounded) + "Gi";
}

std::string formatCpu(std::int64_t millis) {
  return pythonFloatRepr(static_cast<long double>(millis) / 1000.0L);
}

}  // namespace tjf::model
