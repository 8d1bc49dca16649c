// Help and usage texts, laid out as upstream's argparse prints them (the seed documentation).
#pragma once

#include <string>

namespace tjf::cli {

// `prog` is "toolforge jobs" or "toolforge-jobs".
std::string mainUsage(const std::string& prog);
std::string mainHelp(const std::string& prog);
// Usage and help of one subcommand; empty when the subcommand is unknown.
std::string commandUsage(const std::string& prog, const std::string& command);
std::string commandHelp(const std::string& prog, const std::string& command);

}  // namespace tjf::cli
