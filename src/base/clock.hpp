// Time is a parameter: everything that compares or waits on wall time takes a Clock&, so the
// decide steps and the engine can be driven by a ManualClock in tests.
#pragma once

#include <chrono>

namespace tjf {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told. Not thread-safe: owned by the test's thread.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(std::chrono::nanoseconds by) { now_ += std::chrono::duration_cast<TimePoint::duration>(by); }
  void set(TimePoint to) { now_ = to; }

 private:
  TimePoint now_;
};

}  // namespace tjf
