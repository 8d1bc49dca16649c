#include <gtest/gtest.h>

#include "api/http_status.hpp"
#include "api/http_types.hpp"

namespace tjf::api {
namespace {

TEST(Query, DecodesPercentAndPlus) {
  const auto q = parseQuery("lines=10&follow=true&name=a%20b+c&bad=%zz&flag");
  EXPECT_EQ(q.at("lines"), "10");
  EXPECT_EQ(q.at("follow"), "true");
  EXPECT_EQ(q.at("name"), "a b c");
  EXPECT_EQ(q.at("bad"), "%zz");
  EXPECT_EQ(q.at("flag"), "");
}

TEST(ErrorShape, IsAlwaysAnErrorList) {
  const auto r = errorResponse(Error{ErrorCode::kNotFound, "Job 'x' does not exist"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":["Job 'x' does not exist"]})");
  EXPECT_EQ(httpStatus(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(httpStatus(ErrorCode::kUnprocessable), 422);
}

}  // namespace
}  // namespace tjf::api
