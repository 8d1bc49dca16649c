// Kubernetes quantities for --mem and --cpu (toolforge-weld's parser). The user's string is kept
// for display; the parsed value is what limits and quotas use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tjf::model {

struct Quantity {
  std::string text;   // as typed
  long double value;  // in base units (bytes, or CPUs)
};

// Suffix rules as upstream: the last character if it is a suffix, else the last two; the rest a
// decimal number. Errors are "Invalid number format: <rest>" (kUnprocessable), and negative or
// non-finite values are refused.
Result<Quantity> parseQuantity(std::string_view text);

std::int64_t memoryBytes(const Quantity& q);
std::int64_t cpuMillis(const Quantity& q);

// Upstream's normalised forms, used in quota figures: "0.5Gi", "8.0Gi", "0.1", "4.0".
std::string formatMemoryGi(std::int64_t bytes);
std::string formatCpu(std::int64_t millis);

}  // namespace tjf::model
