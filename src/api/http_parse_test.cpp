#include "api/http_parse.hpp"

#include <gtest/gtest.h>

namespace tjf::api {
namespace {

TEST(ParseRequest, ReadsMethodPathQueryAndBody) {
  auto r = parseRequest(
      "POST /v1/tool/alpha/envvars?show_values=true&x=a%20b HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Length: 13\r\n\r\n{\"name\":\"A\"}\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/v1/tool/alpha/envvars");
  EXPECT_EQ(r->query.at("show_values"), "true");
  EXPECT_EQ(r->query.at("x"), "a b");
  EXPECT_EQ(r->body, "{\"name\":\"A\"}\n");
}

TEST(ParseRequest, ReadsAChunkedBody) {
  auto r = parseRequest(
      "PATCH /v1/tool/a/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "abcde");
}

TEST(ParseRequest, RefusesWhatAConnectionRefuses) {
  for (const char* bad : {"", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
                          "GET / HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    EXPECT_FALSE(parseRequest(bad)) << bad;
  }
  const std::string huge = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(kBodyLimit + 1) + "\r\n\r\n";
  auto r = parseRequest(huge);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("body limit"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace tjf::api
