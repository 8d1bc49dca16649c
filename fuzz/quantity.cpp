// A quantity as `--mem` and `--cpu` take it (model/quantity.hpp), and the numbers limits and
// quotas compute from it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/quantity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = tjf::model::parseQuantity(text);
  if (!q) return 0;
  const auto bytes = tjf::model::memoryBytes(*q);
  const auto millis = tjf::model::cpuMillis(*q);
  if (bytes < 0 || millis < 0) __builtin_trap();  // refused negatives stay refused
  (void)tjf::model::formatMemoryGi(bytes);
  (void)tjf::model::formatCpu(millis);
  return 0;
}
