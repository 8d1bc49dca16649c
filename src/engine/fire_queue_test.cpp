#include "engine/fire_queue.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace tjf::engine {
namespace {

TimePoint t(std::int64_t seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

TEST(FireQueue, EmptyHasNothingDue) {
  FireQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.nextDue().has_value());
  EXPECT_TRUE(q.popDue(t(1'000'000)).empty());
  EXPECT_FALSE(q.disarm(1));
}

TEST(FireQueue, PopsWhatIsDueEarliestFirstWithTiesByKey) {
  FireQueue q;
  q.arm(3, t(60));
  q.arm(1, t(120));
  q.arm(2, t(60));
  q.arm(4, t(30));
  EXPECT_EQ(q.nextDue(), t(30));
  EXPECT_EQ(q.popDue(t(29)), std::vector<FireQueue::Key>{});
  EXPECT_EQ(q.popDue(t(60)), (std::vector<FireQueue::Key>{4, 2, 3}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.nextDue(), t(120));
  EXPECT_FALSE(q.dueOf(2).has_value());  // popped keys are disarmed
  EXPECT_EQ(q.dueOf(1), t(120));
}

TEST(FireQueue, ArmingAgainMovesTheKeyEarlierOrLater) {
  FireQueue q;
  q.arm(1, t(100));
  q.arm(2, t(200));
  q.arm(2, t(50));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.nextDue(), t(50));
  q.arm(2, t(300));
  EXPECT_EQ(q.nextDue(), t(100));
  EXPECT_EQ(q.popDue(t(1000)), (std::vector<FireQueue::Key>{1, 2}));
}

TEST(FireQueue, DisarmRemovesFromAnywhere) {
  FireQueue q;
  for (int k = 0; k < 10; ++k) q.arm(k, t(10 * k));
  EXPECT_TRUE(q.disarm(0));  // the head
  EXPECT_TRUE(q.disarm(5));  // the middle
  EXPECT_TRUE(q.disarm(9));  // the last slot
  EXPECT_FALSE(q.disarm(5));
  EXPECT_EQ(q.popDue(t(1000)), (std::vector<FireQueue::Key>{1, 2, 3, 4, 6, 7, 8}));
}

// Random arms, re-arms, disarms and pops against a std::map model.
TEST(FireQueue, AgreesWithASimpleModelUnderRandomOperations) {
  std::mt19937 rng(12345);
  FireQueue q;
  std::map<FireQueue::Key, std::int64_t> model;
  std::int64_t now = 0;
  for (int step = 0; step < 200'000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    const FireQueue::Key key = static_cast<FireQueue::Key>(rng() % 500);
    if (op < 6) {
      const std::int64_t due = now + static_cast<std::int64_t>(rng() % 1000);
      q.arm(key, t(due));
      model[key] = due;
    } else if (op < 8) {
      EXPECT_EQ(q.disarm(key), model.erase(key) == 1);
    } else {
      now += static_cast<std::int64_t>(rng() % 50);
      std::set<std::pair<std::int64_t, FireQueue::Key>> expected;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= now) {
          expected.insert({it->second, it->first});
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      std::vector<FireQueue::Key> want;
      for (const auto& [due, k] : expected) want.push_back(k);
      ASSERT_EQ(q.popDue(t(now)), want) << "step " << step;
    }
    ASSERT_EQ(q.size(), model.size());
  }
  for (const auto& [k, due] : model) EXPECT_EQ(q.dueOf(k), t(due));
}

}  // namespace
}  // namespace tjf::engine
