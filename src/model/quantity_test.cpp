#include <gtest/gtest.h>

#include "model/quantity.hpp"

namespace tjf::model {
namespace {

std::int64_t bytes(const char* s) { return memoryBytes(parseQuantity(s).value()); }
std::int64_t millis(const char* s) { return cpuMillis(parseQuantity(s).value()); }

TEST(Quantity, ParsesSuffixesAsKubernetes) {
  EXPECT_EQ(bytes("512Mi"), 512LL << 20);
  EXPECT_EQ(bytes("1Gi"), 1LL << 30);
  EXPECT_EQ(bytes("1G"), 1000000000);
  EXPECT_EQ(bytes("0.5Gi"), 512LL << 20);
  EXPECT_EQ(bytes("2000Mi"), 2000LL << 20);
  EXPECT_EQ(bytes("1e3"), 1000);
  EXPECT_EQ(millis("100m"), 100);
  EXPECT_EQ(millis("4000m"), 4000);
  EXPECT_EQ(millis("0.5"), 500);
  EXPECT_EQ(millis("2"), 2000);
  EXPECT_EQ(millis(".25"), 250);
  EXPECT_EQ(parseQuantity("100Mi")->text, "100Mi");
}

TEST(Quantity, RejectsWhatUpstreamRejects) {
  for (const char* bad : {"1g", "1gb", "1Mb", "1K", "", "abc", "1 Gi"}) {
    const auto r = parseQuantity(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  }
  EXPECT_EQ(parseQuantity("1g").error().message, "Invalid number format: 1g");
  EXPECT_FALSE(parseQuantity("-1Gi").has_value());
}

TEST(Quantity, NormalisedFormsMatchUpstream) {
  EXPECT_EQ(formatMemoryGi(512LL << 20), "0.5Gi");
  EXPECT_EQ(formatMemoryGi(1LL << 30), "1.0Gi");
  EXPECT_EQ(formatMemoryGi(1000000000), "0.931Gi");
  EXPECT_EQ(formatMemoryGi(500LL << 20), "0.488Gi");
  EXPECT_EQ(formatMemoryGi(100LL << 20), "0.098Gi");
  EXPECT_EQ(formatMemoryGi(3000000000), "2.794Gi");
  EXPECT_EQ(formatMemoryGi(8LL << 30), "8.0Gi");
  EXPECT_EQ(formatCpu(100), "0.1");
  EXPECT_EQ(formatCpu(1000), "1.0");
  EXPECT_EQ(formatCpu(250), "0.25");
  EXPECT_EQ(formatCpu(4000), "4.0");
}

// Found by fuzz/quantity.cpp: beyond the int64 range the figures saturate instead of overflowing.
TEST(Quantity, HugeValuesSaturate) {
  EXPECT_EQ(bytes("8Ei"), INT64_MAX);
  EXPECT_EQ(bytes("1e30"), INT64_MAX);
  EXPECT_EQ(millis("1e17"), INT64_MAX);
  EXPECT_EQ(bytes("7Ei"), 7LL * 1152921504606846976LL);
  EXPECT_EQ(millis("0"), 0);
}

}  // namespace
}  // namespace tjf::model
