#include <gtest/gtest.h>

#include <vector>

#include "model/names.hpp"

namespace tjf::model {
namespace {

constexpr const char* kRules = "See the documentation for the naming rules: https://w.wiki/6YL8";

TEST(JobName, AcceptsRfc1123Subdomains) {
  for (const std::string& name :
       std::vector<std::string>{"totally-valid", "so.is.this", std::string(52, 'a'), "a", "0-1"}) {
    EXPECT_TRUE(validateJobName(name).has_value()) << name;
  }
}

TEST(JobName, RejectsWithUpstreamMessages) {
  EXPECT_EQ(validateJobName("").error().message, std::string("Job name is required. ") + kRules);
  for (const std::string& name :
       std::vector<std::string>{"underscores_are_not_valid_in_dns", "nor..are..double..dots", ".or-starting-with-dots",
        "nöt-älphänümeriç!", "Upper", "trailing-", "-leading", "a.", "with space"}) {
    const auto r = validateJobName(name);
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().message, std::string("Invalid job name. ") + kRules) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(validateJobName(std::string(53, 'a')).error().message,
            std::string("Invalid job name, it can't be longer than 52 characters. ") + kRules);
}

TEST(ToolName, MadeValidFromUserName) {
  EXPECT_EQ(toolNameFromUser("Jane_Doe"), "jane-doe");
  EXPECT_EQ(toolNameFromUser("root"), "root");
  EXPECT_EQ(toolNameFromUser("__"), "tool");
  EXPECT_TRUE(validateJobName(toolNameFromUser("x" + std::string(80, 'y'))).has_value());
}

}  // namespace
}  // namespace tjf::model
