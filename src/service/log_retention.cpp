#include "service/log_retention.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include "base/time_format.hpp"
#include "base/unique_fd.hpp"
#include "service/logs.hpp"

namespace tjf::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr std::uint64_t kHoleAlign = 4096;  // holes are punched in whole filesystem blocks
constexpr std::size_t kProbe = 128 * 1024;  // longer than any record (shim/capture.hpp)

std::optional<TimePoint> recordTime(std::string_view record) {
  const auto space = record.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  long long micros = 0;
  const auto [end, ec] = std::from_chars(record.data(), record.data() + space, micros);
  if (ec != std::errc() || end != record.data() + space) return std::nullopt;
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

std::string readWindow(int fd, std::uint64_t at, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

// The start of the first record at or after `pos` (records start at 0 or after a newline).
std::uint64_t nextRecordStart(int fd, std::uint64_t pos, std::uint64_t end) {
  if (pos == 0) return 0;
  if (pos >= end) return end;
  const std::string window = readWindow(fd, pos - 1, kProbe);
  const auto nl = window.find('\n');
  return nl == std::string::npos ? end : std::min(end, pos + nl);
}

std::optional<TimePoint> timeAt(int fd, std::uint64_t record_start) {
  return recordTime(readWindow(fd, record_start, 32));
}

TimePoint modificationTime(const struct stat& st) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

std::uint64_t roundDown(std::uint64_t v) { return v / kHoleAlign * kHoleAlign; }
std::uint64_t roundUp(std::uint64_t v) { return (v + kHoleAlign - 1) / kHoleAlign * kHoleAlign; }

}  // namespace

std::vector<LogAction> selectLogRemovals(const std::vector<RunLog>& logs,
                                         const LogRetentionPolicy& policy, TimePoint now) {
  std::vector<LogAction> actions;
  std::vector<const RunLog*> kept;
  for (const auto& log : logs) {
    if (policy.max_age.count() > 0) {
      const TimePoint cutoff = now - policy.max_age;
      if (!log.active && log.last_write < cutoff) {
        actions.push_back(LogAction{.kind = LogActionKind::kDelete, .run_id = log.run_id});
        continue;
      }
      if (log.active && log.bytes > 0 && log.first_record && *log.first_record < cutoff) {
        actions.push_back(LogAction{.kind = LogActionKind::kTrimFront, .run_id = log.run_id,
                                    .older_than = cutoff});
      }
    }
    kept.push_back(&log);
  }
  if (policy.max_bytes == 0) return actions;
  std::uint64_t total = 0;
  for (const auto* log : kept) total += log->bytes;
  if (total <= policy.max_bytes) return actions;
  std::sort(kept.begin(), kept.end(), [](const RunLog* a, const RunLog* b) {
    return std::tie(a->last_write, a->run_id) < std::tie(b->last_write, b->run_id);
  });
  for (const auto* log : kept) {
    if (total <= policy.max_bytes) break;
    if (log->bytes == 0) continue;
    if (!log->active) {
      actions.push_back(LogAction{.kind = LogActionKind::kDelete, .run_id = log->run_id});
      total -= log->bytes;
    } else {
      const std::uint64_t cut = std::min(log->bytes, total - policy.max_bytes);
      actions.push_back(LogAction{.kind = LogActionKind::kTrimFront, .run_id = log->run_id,
                                  .trim_bytes = cut});
      total -= cut;
    }
  }
  return actions;
}

std::uint64_t firstRecordNotOlderThan(int fd, std::uint64_t begin, std::uint64_t end,
                                      TimePoint cutoff) {
  // P(p): the first record at or after p is not older than the cutoff (or there is none). P is
  // monotone in p because records are in time order; find the smallest p where it holds. A
  // record that does not parse (the cut one after a hole) counts as old.
  auto holds = [&](std::uint64_t p) {
    const std::uint64_t start = nextRecordStart(fd, p, end);
    if (start >= end) return true;
    const auto t = timeAt(fd, start);
    return t && *t >= cutoff;
  };
  std::uint64_t lo = begin, hi = end;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (holds(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return nextRecordStart(fd, lo, end);
}

LogRetention::LogRetention(boost::asio::io_context& io, store::Store& store, const Clock& clock,
                           LogRetentionOptions options)
    : io_(io), store_(store), clock_(clock), options_(std::move(options)), timer_(io) {}

void LogRetention::start() {
  // Soon, not at once: recovery and the first reconcile go first.
  schedule(std::min(options_.interval, std::chrono::milliseconds(2'000)));
}

void LogRetention::schedule(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto ok = enforce(); !ok) {
      std::fprintf(stderr, "tjfd: log retention: %s\n", ok.error().message.c_str());
    }
    schedule(options_.interval);
  });
}

Status LogRetention::refresh() {
  std::set<std::int64_t> present;
  std::error_code ec;
  for (fs::directory_iterator it(options_.layout.runsDir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::int64_t id = 0;
    const auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (err == std::errc() && p == name.data() + name.size()) present.insert(id);
  }
  auto active = store_.activeRuns();
  if (!active) return tl::unexpected(active.error());
  std::set<std::int64_t> active_ids;
  for (const auto& run : *active) active_ids.insert(run.id);

  std::erase_if(known_, [&](const auto& kv) { return !present.count(kv.first); });
  for (const std::int64_t id : present) {
    auto [it, inserted] = known_.try_emplace(id);
    Entry& e = it->second;
    if (inserted) {
      e.log.run_id = id;
      if (auto run = store_.runById(id); run && *run) e.tool = (*run)->tool;
    }
    const bool is_active = active_ids.count(id) > 0;
    if (e.tool.empty() || (e.settled && !is_active)) continue;
    const auto path = model::StateLayout::output(options_.layout.runDir(id));
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat st {};
    e.log.active = is_active;
    e.settled = !is_active;
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      e.exists = false;
      e.log.bytes = 0;
      continue;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    e.exists = true;
    e.log.data_start = dataStart(fd.get(), size);
    e.log.bytes = size - e.log.data_start;
    e.log.last_write = modificationTime(st);
    e.log.first_record.reset();
    if (is_active && e.log.bytes > 0) {
      const std::uint64_t first = nextRecordStart(fd.get(), e.log.data_start, size);
      if (first < size) e.log.first_record = timeAt(fd.get(), first);
    }
  }
  measured_at_ = std::chrono::steady_clock::now();
  return {};
}

void LogRetention::trim(Entry& entry, const LogAction& action) {
  const auto path = model::StateLayout::output(options_.layout.runDir(entry.log.run_id));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t begin = dataStart(fd.get(), size);
  std::uint64_t end = 0;
  if (action.older_than) {
    // Keep a record that shares a block with the first one to keep: round down.
    end = roundDown(firstRecordNotOlderThan(fd.get(), begin, size, *action.older_than));
  } else {
    end = roundUp(begin + action.trim_bytes);
  }
  // Never the last, partly written block: the shim appends there.
  end = std::min(end, roundDown(size));
  if (end <= begin) return;
  if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  static_cast<off_t>(end)) != 0) {
    if (!reported_no_punch_) {
      reported_no_punch_ = true;
      std::fprintf(stderr,
                   "tjfd: log retention: cannot drop the oldest part of '%s' (%s); the logs of "
                   "runs that are still writing are kept whole on this filesystem\n",
                   path.c_str(), std::strerror(errno));
    }
    return;
  }
  entry.log.data_start = dataStart(fd.get(), size);
  entry.log.bytes = size - entry.log.data_start;
}

Status LogRetention::enforce() {
  if (auto ok = refresh(); !ok) return ok;
  if (options_.policy.max_bytes == 0 && options_.policy.max_age.count() == 0) return {};
  std::map<std::string, std::vector<RunLog>> by_tool;
  for (const auto& [id, e] : known_) {
    if (e.exists && !e.tool.empty()) by_tool[e.tool].push_back(e.log);
  }
  const TimePoint now = clock_.now();
  for (const auto& [tool, logs] : by_tool) {
    for (const auto& action : selectLogRemovals(logs, options_.policy, now)) {
      Entry& e = known_.at(action.run_id);
      if (action.kind == LogActionKind::kDelete) {
        const auto path = model::StateLayout::output(options_.layout.runDir(action.run_id));
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
          std::fprintf(stderr, "tjfd: log retention: cannot remove '%s': %s\n", path.c_str(),
                       std::strerror(errno));
          continue;
        }
        e.exists = false;
        e.log.bytes = 0;
      } else {
        trim(e, action);
      }
    }
  }
  return {};
}

LogRetention::Usage LogRetention::usage(const std::string& tool) {
  if (!measured_at_ || std::chrono::steady_clock::now() - *measured_at_ > std::chrono::seconds(1)) {
    (void)refresh();  // a failed refresh keeps the last measurement
  }
  Usage u;
  for (const auto& [id, e] : known_) {
    if (!e.exists || e.tool != tool || e.log.bytes == 0) continue;
    u.bytes += e.log.bytes;
    ++u.runs;
    const TimePoint oldest = e.log.first_record.value_or(e.log.last_write);
    if (!u.oldest || oldest < *u.oldest) u.oldest = oldest;
  }
  return u;
}

ordered_json LogRetention::quotaCategory(const std::string& tool) {
  const Usage u = usage(tool);
  const auto& p = options_.policy;
  const auto days = std::chrono::duration_cast<std::chrono::seconds>(p.max_age).count();
  std::string age_limit = "unlimited";
  if (days > 0) age_limit = days % 86400 == 0 ? std::to_string(days / 86400) + "d"
                                              : formatDuration(days);
  const auto age_used = u.oldest ? std::chrono::duration_cast<std::chrono::seconds>(
                                       clock_.now() - *u.oldest).count()
                                 : 0;
  return ordered_json{
      {"name", "Logs"},
      {"items",
       ordered_json::array(
           {ordered_json{{"name", "Stored output of jobs without file logs"},
                         {"limit", p.max_bytes > 0 ? formatLogBytes(p.max_bytes) : "unlimited"},
                         {"used", formatLogBytes(u.bytes)}},
            ordered_json{{"name", "Age of the oldest stored output"},
                         {"limit", age_limit},
                         {"used", formatDuration(std::max<std::int64_t>(0, age_used))}}})}};
}

std::string formatLogBytes(std::uint64_t bytes) {
  static const char* const kUnits[] = {"Ki", "Mi", "Gi", "Ti", "Pi"};
  if (bytes < 1024) return std::to_string(bytes);
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char out[32];
  if (value == static_cast<double>(static_cast<std::uint64_t>(value))) {
    std::snprintf(out, sizeof out, "%llu%s", static_cast<unsigned long long>(value), kUnits[unit]);
  } else {
    std::snprintf(out, sizeof out, "%.1f%s", value, kUnits[unit]);
    // "2.0Mi" reads better as "2Mi".
    std::string s = out;
    if (const auto dot0 = s.find(".0"); dot0 != std::string::npos && dot0 + 2 == s.size() - 2) {
      s.erase(dot0, 2);
    }
    return s;
  }
  return out;
}

}  // namespace tjf::service
