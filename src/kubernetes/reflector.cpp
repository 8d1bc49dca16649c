#include "kubernetes/reflector.hpp"

#include <algorithm>

#include "kubernetes/resume_point.hpp"

namespace tjf::kubernetes {

Reflector::Reflector(Client& client, std::string collection, ReflectorOptions options,
                     ReflectorHandler handler)
    : client_(client),
      collection_(std::move(collection)),
      options_(std::move(options)),
      handler_(std::move(handler)) {}

std::string Reflector::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

void Reflector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

bool Reflector::waitBackoff(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

void Reflector::run(std::string resume_from) {
  std::string rv = std::move(resume_from);
  auto backoff = options_.error_backoff;
  auto setVersion = [this, &rv](const json& object) {
    if (!object.is_object() || !object.contains("metadata")) return;
    const std::string v = object["metadata"].value("resourceVersion", "");
    if (v.empty()) return;
    rv = v;
    std::lock_guard lock(mutex_);
    resource_version_ = v;
  };
  auto fail = [&](const ApiError& error) {
    if (handler_.on_error) handler_.on_error(error);
    const bool go_on = waitBackoff(backoff);
    backoff = std::min(backoff * 2, options_.max_error_backoff);
    return go_on;
  };

  while (!stopping_) {
    if (rv.empty()) {
      // A paginated list would be kinder to a huge namespace; one tool's jobs fit in one page.
      auto listed = client_.list(collection_, {.label_selector = options_.label_selector,
                                               .field_selector = options_.field_selector});
      if (!listed) {
        if (!fail(listed.error())) return;
        continue;
      }
      ++lists_;
      std::vector<json> items;
      if (listed->contains("items") && (*listed)["items"].is_array()) {
        for (auto& item : (*listed)["items"]) items.push_back(std::move(item));
      }
      setVersion(*listed);
      if (handler_.on_list) handler_.on_list(items, rv);
      if (rv.empty()) rv = "0";  // a server that sends no version: watch from "any"
    }
    ++watches_;
    auto watched = client_.watch(
        collection_,
        {.label_selector = options_.label_selector,
         .field_selector = options_.field_selector,
         .resource_version = rv,
         .allow_bookmarks = true,
         .timeout_seconds = options_.watch_timeout_seconds},
        [&](const WatchEvent& event) {
          setVersion(event.object);
          if (event.type != "BOOKMARK") {
            if (handler_.on_event) handler_.on_event(event);
          } else if (handler_.on_bookmark) {
            handler_.on_bookmark(event.object.value("/metadata/resourceVersion"_json_pointer, std::string()));
          }
          return !stopping_.load();
        },
        &stopping_);
    if (stopping_) return;
    if (!watched) {
      if (watched.error().isGone()) {
        // Our version was compacted: events were missed, so start over with the full state.
        rv.clear();
        continue;
      }
      if (!fail(watched.error())) return;
      continue;
    }
    backoff = options_.error_backoff;  // the stream ended normally: re-watch from `rv`
  }
}

ApiResult<std::vector<WatchEvent>> replayHistory(Client& client, const std::string& collection,
                                                 const ReplayOptions& options, const std::atomic<bool>* cancel) {
  std::vector<WatchEvent> events;
  if (options.from.empty() || versionAtOrPast(options.from, options.until)) return events;
  auto watched = client.watch(
      collection,
      {.label_selector = options.label_selector,
       .field_selector = options.field_selector,
       .resource_version = options.from,
       .allow_bookmarks = true,
       .timeout_seconds = std::max(1, options.timeout_seconds)},
      [&](const WatchEvent& event) {
        if (event.type != "BOOKMARK") events.push_back(event);
        const std::string version = event.object.value("/metadata/resourceVersion"_json_pointer, std::string());
        if (event.type != "BOOKMARK" && options.enough && options.enough(event)) return false;
        return !versionAtOrPast(version, options.until);
      },
      cancel);
  if (!watched) return tl::unexpected(watched.error());
  return events;
}

}  // namespace tjf::kubernetes
