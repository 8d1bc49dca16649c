// `toolforge envvars`: a tool's environment variables, injected into every job it starts
// (docs/platform-mode.md, "Environment variables"). HTTP only, like the rest of the CLI.
#pragma once

#include <string>
#include <vector>

namespace tjf::cli {

// Runs `<prog> <args...>` (prog is "toolforge envvars"). Returns the exit code: 0 success, 1 a
// user error (HTTP 4xx), 2 a usage error, an internal error or an unreachable daemon.
int runEnvvars(const std::string& prog, std::vector<std::string> args);

}  // namespace tjf::cli
