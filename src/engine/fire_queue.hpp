// The next fire time of every scheduled job, so the engine wakes for the jobs that are due and
// never sweeps all of them: an indexed binary min-heap keyed by job id. arm/disarm/pop cost
// O(log n); the earliest due time is O(1). With 100,000 schedules it holds 100,000 entries of 16
// bytes plus an index (about 5 MB in all), and a minute in which 1,000 of them fire costs 1,000
// pops, whatever the total.
//
// Not thread-safe: owned by the engine, used on the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"

namespace tjf::engine {

class FireQueue {
 public:
  using Key = std::int64_t;  // a job id

  // Sets the due time of `key`, replacing the one it had (an earlier or a later time).
  void arm(Key key, TimePoint due);
  // Forgets `key`. Returns whether it was armed.
  bool disarm(Key key);
  // The due time of `key`, if armed.
  std::optional<TimePoint> dueOf(Key key) const;
  // The earliest due time of all, if any.
  std::optional<TimePoint> nextDue() const;
  // Removes the keys due at or before `now` and returns them, earliest first (ties: lower key
  // first). Keys are disarmed: the caller re-arms each with its next fire time.
  std::vector<Key> popDue(TimePoint now);

  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  void reserve(std::size_t n);

 private:
  struct Entry {
    TimePoint due;
    Key key;
  };
  static bool before(const Entry& a, const Entry& b) {
    return a.due < b.due || (a.due == b.due && a.key < b.key);
  }
  // Puts `e` at heap position `i` and records it in the index.
  void place(std::size_t i, const Entry& e);
  void siftUp(std::size_t i);
  void siftDown(std::size_t i);
  void removeAt(std::size_t i);

  std::vector<Entry> heap_;
  std::unordered_map<Key, std::size_t> index_;  // key -> position in heap_
};

}  // namespace tjf::engine
