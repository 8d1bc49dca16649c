#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "runtime/command_check.hpp"

namespace tjf::runtime {
namespace {

TEST(CommandCheck, PlainWordIsTheFirstWordUnlessTheShellMustDecide) {
  EXPECT_EQ(plainCommandWord("./run.sh --x"), "./run.sh");
  EXPECT_EQ(plainCommandWord("  python3 bot.py"), "python3");
  EXPECT_EQ(plainCommandWord("$HOME/run.sh"), std::nullopt);
  EXPECT_EQ(plainCommandWord("cd dir && ./x"), std::nullopt);
  EXPECT_EQ(plainCommandWord("'quoted' x"), std::nullopt);
  EXPECT_EQ(plainCommandWord("FOO=1 ./x"), std::nullopt);
  EXPECT_EQ(plainCommandWord(""), std::nullopt);
}

TEST(CommandCheck, NamesMissingAndNonExecutableCommands) {
  const auto dir = std::filesystem::temp_directory_path() / "tjf-command-check";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "script.sh") << "#!/bin/sh\n";
  }
  ::chmod((dir / "script.sh").c_str(), 0644);
  EXPECT_EQ(commandProblem("./script.sh", dir, "/usr/bin:/bin"),
            "command './script.sh' is not executable (try: chmod u+x ./script.sh)");
  ::chmod((dir / "script.sh").c_str(), 0755);
  EXPECT_EQ(commandProblem("./script.sh --arg", dir, "/usr/bin:/bin"), std::nullopt);
  EXPECT_EQ(commandProblem("./missing.sh", dir, "/usr/bin:/bin"),
            "command './missing.sh' not found in '" + dir.string() + "'");
  EXPECT_EQ(commandProblem("sh -c true", dir, "/usr/bin:/bin"), std::nullopt);
  EXPECT_EQ(commandProblem("script.sh", dir, "/usr/bin:/bin"),
            "command 'script.sh' not found on PATH; a script in the tool home needs "
            "'./script.sh'");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tjf::runtime
