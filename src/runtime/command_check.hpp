// Finds what a job's command will run, before it runs: so `run` can warn about a missing script
// and a run can fail with a reason that names the command instead of a bare exit code 127.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tjf::runtime {

// The first word of a shell command, or nullopt when the command is not a plain word followed
// by arguments (quotes, variables, builtins, keywords, redirections: the shell decides then).
std::optional<std::string> plainCommandWord(std::string_view command);

// A sentence naming the problem ("command './x.sh' not found in '/home/tool'", "... is not
// executable"), or nullopt when the command resolves or cannot be checked without running it.
std::optional<std::string> commandProblem(std::string_view command,
                                          const std::filesystem::path& workdir,
                                          std::string_view path_env);

}  // namespace tjf::runtime
