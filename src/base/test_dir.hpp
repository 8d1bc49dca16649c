// For tests only (it uses GoogleTest): a fresh, empty directory for the running test,
// <tmp>/tjf-<tag>-<pid>-<test name>, so parallel test processes and repeated runs never share one.
// The fixture removes it in TearDown.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace tjf {

inline std::filesystem::path freshTestDir(std::string_view tag) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tjf-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tjf
