#include "engine/fire_queue.hpp"

namespace tjf::engine {

void FireQueue::reserve(std::size_t n) {
  heap_.reserve(n);
  index_.reserve(n);
}

void FireQueue::place(std::size_t i, const Entry& e) {
  heap_[i] = e;
  index_[e.key] = i;
}

void FireQueue::siftUp(std::size_t i) {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void FireQueue::siftDown(std::size_t i) {
  const Entry e = heap_[i];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], e)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void FireQueue::removeAt(std::size_t i) {
  index_.erase(heap_[i].key);
  const Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last one
  place(i, last);
  // The moved entry may belong above or below its new place.
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    siftUp(i);
  } else {
    siftDown(i);
  }
}

void FireQueue::arm(Key key, TimePoint due) {
  const auto it = index_.find(key);
  if (it == index_.end()) {
    heap_.push_back(Entry{due, key});
    index_[key] = heap_.size() - 1;
    siftUp(heap_.size() - 1);
    return;
  }
  const std::size_t i = it->second;
  const TimePoint old = heap_[i].due;
  heap_[i].due = due;
  if (due < old) {
    siftUp(i);
  } else if (old < due) {
    siftDown(i);
  }
}

bool FireQueue::disarm(Key key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  removeAt(it->second);
  return true;
}

std::optional<TimePoint> FireQueue::dueOf(Key key) const {
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return heap_[it->second].due;
}

std::optional<TimePoint> FireQueue::nextDue() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

std::vector<FireQueue::Key> FireQueue::popDue(TimePoint now) {
  std::vector<Key> due;
  while (!heap_.empty() && heap_.front().due <= now) {
    due.push_back(heap_.front().key);
    removeAt(0);
  }
  return due;
}

}  // namespace tjf::engine
