#include "runtime/command_check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include "base/strings.hpp"

namespace tjf::runtime {
namespace {

bool isShellSpecial(char c) {
  static constexpr std::string_view kSpecial = "\"'`$\\|&;<>(){}*?[]~=#!";
  return kSpecial.find(c) != std::string_view::npos;
}

bool isBuiltinOrKeyword(std::string_view word) {
  static constexpr std::array<std::string_view, 44> kWords = {
      "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done",
      "in", "function", "select", "time", "cd", "exec", "export", "eval", "set", "unset", "source",
      ".", ":", "true", "false", "echo", "printf", "test", "[", "read", "ulimit", "umask", "wait",
      "trap", "exit", "return", "shift", "alias", "command", "type", "kill", "nohup"};
  for (const auto w : kWords) {
    if (w == word) return true;
  }
  return false;
}

// With the effective ids: the tjf-shim checks a platform-mode command as its tool (seteuid)
// while its real uid is still root, for which access() would say yes.
bool executable(const std::filesystem::path& p) {
  return ::faccessat(AT_FDCWD, p.c_str(), X_OK, AT_EACCESS) == 0;
}

}  // namespace

std::optional<std::string> plainCommandWord(std::string_view command) {
  const auto trimmed = trim(command);
  const auto end = trimmed.find_first_of(" \t\n");
  const auto word = trimmed.substr(0, end);
  if (word.empty()) return std::nullopt;
  for (const char c : word) {
    if (isShellSpecial(c)) return std::nullopt;
  }
  if (isBuiltinOrKeyword(word)) return std::nullopt;
  return std::string(word);
}

std::optional<std::string> commandProblem(std::string_view command,
                                          const std::filesystem::path& workdir,
                                          std::string_view path_env) {
  const auto word = plainCommandWord(command);
  if (!word) return std::nullopt;
  if (word->find('/') != std::string::npos) {
    const std::filesystem::path p = std::filesystem::path(*word).is_absolute()
                                        ? std::filesystem::path(*word)
                                        : workdir / *word;
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      return "command '" + *word + "' not found in '" + workdir.string() + "'";
    }
    if (std::filesystem::is_directory(p, ec)) return "command '" + *word + "' is a directory";
    if (!executable(p)) {
      return "command '" + *word + "' is not executable (try: chmod u+x " + *word + ")";
    }
    return std::nullopt;
  }
  for (const auto& dir : split(path_env, ':')) {
    const std::filesystem::path candidate =
        (dir.empty() ? workdir : std::filesystem::path(dir)) / *word;
    if (executable(candidate)) return std::nullopt;
  }
  return "command '" + *word + "' not found on PATH; a script in the tool home needs './" + *word +
         "'";
}

}  // namespace tjf::runtime
