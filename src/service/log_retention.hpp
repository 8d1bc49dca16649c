// Log retention (docs/logs.md, "Retention"): per-tool limits on the captured output kept in the
// log store (runs/<id>/output.log), enforced on a timer by the daemon. Each tool has its own
// budget of bytes and a maximum age; over budget, the oldest runs' logs go first (the whole
// file of a finished run), and a run that is still writing loses its oldest part: a hole is
// punched into the start of its file (fallocate PUNCH_HOLE), so the shim's O_APPEND writes, the
// offsets of followers and the reading from the end all go on undisturbed.
//
// What to drop is decided by a pure function of the runs' logs, the policy and the time
// (selectLogRemovals, unit-tested with a manual clock); LogRetention measures and acts. Runs on
// the loop thread; the scan stats only new and active runs, so a tick costs little.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "model/state_paths.hpp"
#include "store/store.hpp"

namespace tjf::service {

struct LogRetentionPolicy {
  std::uint64_t max_bytes = 0;        // per tool; 0: no limit
  std::chrono::seconds max_age{0};    // 0: no limit
};

// One run's captured output as retention sees it.
struct RunLog {
  std::int64_t run_id = 0;
  std::uint64_t bytes = 0;       // log kept: from data_start to the end of the file
  std::uint64_t data_start = 0;  // 0, or the end of a hole punched before
  TimePoint last_write{};        // the file's modification time: no record is newer
  std::optional<TimePoint> first_record;  // the time of the oldest record kept (active runs)
  bool active = false;           // the run may still write
};

enum class LogActionKind {
  kDelete,     // a finished run: its output.log goes
  kTrimFront,  // an active run: the oldest part of its file becomes a hole
};

struct LogAction {
  LogActionKind kind = LogActionKind::kDelete;
  std::int64_t run_id = 0;
  std::uint64_t trim_bytes = 0;          // kTrimFront over size: at least this much, from the start
  std::optional<TimePoint> older_than;   // kTrimFront over age: every record older than this
};

// What one tool's logs must lose to fit `policy` at `now`: first everything older than the
// maximum age, then, over the byte budget, the oldest logs (by last write, then run id) until
// the rest fits. Deterministic; no I/O.
std::vector<LogAction> selectLogRemovals(const std::vector<RunLog>& logs,
                                         const LogRetentionPolicy& policy, TimePoint now);

// The offset of the first record at or after `begin` whose time is not older than `cutoff`
// (`end` when there is none), found by bisection over the file: records are in time order.
std::uint64_t firstRecordNotOlderThan(int fd, std::uint64_t begin, std::uint64_t end,
                                      TimePoint cutoff);

struct LogRetentionOptions {
  model::StateLayout layout{"/nonexistent"};
  LogRetentionPolicy policy;
  std::chrono::milliseconds interval{60'000};
};

class LogRetention {
 public:
  LogRetention(boost::asio::io_context& io, store::Store& store, const Clock& clock,
               LogRetentionOptions options);

  // Enforces once soon after start-up and then every interval.
  void start();
  // Measures and enforces now. Errors of single files are reported on stderr and skipped.
  Status enforce();

  struct Usage {
    std::uint64_t bytes = 0;
    std::optional<TimePoint> oldest;  // the oldest log kept (by its last write)
    std::size_t runs = 0;             // runs with a log kept
  };
  // A tool's usage, measured at most a second ago.
  Usage usage(const std::string& tool);
  // The "Logs" category of GET /quotas (service/quota.hpp).
  nlohmann::ordered_json quotaCategory(const std::string& tool);
  const LogRetentionPolicy& policy() const { return options_.policy; }

 private:
  struct Entry {
    std::string tool;    // empty: a run directory the store does not know (left alone)
    RunLog log;
    bool exists = false;    // output.log is there
    bool settled = false;   // measured after the run ended: its file no longer changes
  };
  Status refresh();
  void schedule(std::chrono::milliseconds delay);
  void trim(Entry& entry, const LogAction& action);

  boost::asio::io_context& io_;
  store::Store& store_;
  const Clock& clock_;
  LogRetentionOptions options_;
  boost::asio::steady_timer timer_;
  std::map<std::int64_t, Entry> known_;
  std::optional<std::chrono::steady_clock::time_point> measured_at_;
  bool reported_no_punch_ = false;
};

// "512", "1.5Ki", "12.3Mi", "2Gi": a size for people.
std::string formatLogBytes(std::uint64_t bytes);

}  // namespace tjf::service
