// A job file as `toolforge jobs load` reads it (cli/jobfile.hpp): YAML with anchors, merge keys,
// every key of the user documentation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/jobfile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto file = tjf::cli::parseJobFile(text, "fuzz.yaml");
  if (!file) return 0;
  for (const auto& job : file->jobs) (void)tjf::cli::jobToFileEntry(job.body);
  return 0;
}
