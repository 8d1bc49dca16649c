// A job body as the API receives it (POST/PATCH /jobs): model::jobSpecFromJson. A definition it
// accepts must survive the store's round trip unchanged (jobSpecToJson, then back).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  std::vector<std::string> warnings;
  auto spec = tjf::model::jobSpecFromJson(body, &warnings);
  if (!spec) return 0;
  auto stored = tjf::model::jobSpecFromJson(tjf::model::jobSpecToJson(*spec), nullptr);
  if (!stored || !(*stored == *spec)) __builtin_trap();  // the store would change the job
  return 0;
}
