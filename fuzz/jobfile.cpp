// A job file as `toolforge jobs load` reads it (cli/jobfile.hpp): YAML with anchors, merge keys,
// every key of the user documentation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/jobfile.hpp"

namespace {

// yaml-cpp 0.7 (Debian 12) never returns from LoadAll() on a ',' that starts a token outside a
// flow collection (",", "  ,", "[a],", "\"x\",", "- a\n,"): it loops, allocating. That is a bug of
// the library, found by this target (the CLI's `load` hangs on such a file). The fuzzer leaves
// out inputs with a comma that may start a token (conservatively: at the start of the input, after
// a blank, a closing bracket, a quote or another comma, or ending an anchor, alias or tag) so it
// keeps finding other things instead of that one. A comma inside a word ("echo a,b") is kept.
bool hasLooseComma(std::string_view text) {
  char word_start = 0;  // the first character of the current run of non-blanks
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char before = i == 0 ? '\n' : text[i - 1];
    const bool blank_before = before == ' ' || before == '\t' || before == '\n' || before == '\r';
    if (blank_before) word_start = c;
    if (c != ',') continue;
    if (blank_before || before == ']' || before == '}' || before == '"' || before == '\'' ||
        before == ',' || word_start == '*' || word_start == '&' || word_start == '!') {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (hasLooseComma(text)) return 0;
  auto file = tjf::cli::parseJobFile(text, "fuzz.yaml");
  if (!file) return 0;
  for (const auto& job : file->jobs) (void)tjf::cli::jobToFileEntry(job.body);
  return 0;
}
