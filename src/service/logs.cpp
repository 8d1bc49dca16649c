#include "service/logs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <tuple>

namespace tjf::service {
namespace {

constexpr std::uint64_t kBlock = 64 * 1024;

TimePoint modificationTime(const struct stat& st) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// pread until `n` bytes or the end; returns the bytes read.
std::size_t readAt(int fd, char* out, std::size_t n, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

// The offset just after the last newline before `end` (searching back at most one block per
// step), or `begin` when there is none.
std::uint64_t endOfLastLine(int fd, std::uint64_t begin, std::uint64_t end) {
  std::string block;
  while (end > begin) {
    const std::uint64_t len = std::min(kBlock, end - begin);
    block.resize(len);
    const std::size_t got = readAt(fd, block.data(), len, end - len);
    if (got < len) return begin;
    const auto nl = block.rfind('\n');
    if (nl != std::string::npos) return end - len + nl + 1;
    end -= len;
  }
  return begin;
}

// A captured record in a run's output.log, identified for ordering across runs.
struct Ranked {
  LogLine line;
  std::int64_t run_id;
  std::size_t index;  // position in its run's file
};
bool olderThan(const Ranked& a, const Ranked& b) {
  return std::tie(*a.line.time, a.run_id, a.index) < std::tie(*b.line.time, b.run_id, b.index);
}

}  // namespace

std::optional<LogLine> parseCapturedLine(std::string_view line, const std::string& source) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  if (line.size() < space + 3 || line[space + 2] != ' ') return std::nullopt;
  long long micros = 0;
  const auto [end, ec] = std::from_chars(line.data(), line.data() + space, micros);
  if (ec != std::errc() || end != line.data() + space) return std::nullopt;
  LogLine out;
  out.time = TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
  out.stream = line[space + 1];
  out.source = source;
  out.message = std::string(line.substr(space + 3));
  return out;
}

UniqueFd openLogFile(const std::string& path, LogFileOwner owner) {
  UniqueFd handle(::open(path.c_str(), O_PATH | O_CLOEXEC));
  struct stat st {};
  if (!handle.valid() || ::fstat(handle.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (owner && st.st_uid != *owner)) {
    return UniqueFd();
  }
  return UniqueFd(::open(("/proc/self/fd/" + std::to_string(handle.get())).c_str(),
                         O_RDONLY | O_CLOEXEC | O_NONBLOCK));
}

std::uint64_t dataStart(int fd, std::uint64_t end) {
  const off_t data = ::lseek(fd, 0, SEEK_DATA);
  if (data < 0) return errno == ENXIO ? end : 0;  // ENXIO: nothing but a hole
  return std::min(static_cast<std::uint64_t>(data), end);
}

std::vector<std::string> tailLines(int fd, std::size_t limit, std::uint64_t begin,
                                   std::uint64_t end, bool partial_last, std::uint64_t max_bytes) {
  if (limit == 0 || end <= begin) return {};
  // Read blocks backwards until they hold limit + 1 newlines (the one before the first wanted
  // line included), the window starts, or the byte budget is spent.
  std::vector<std::string> blocks;  // newest first
  std::uint64_t pos = end;
  std::size_t newlines = 0;
  while (pos > begin && newlines <= limit && end - pos < max_bytes) {
    const std::uint64_t len = std::min({kBlock, pos - begin, max_bytes - (end - pos)});
    std::string block(len, '\0');
    if (readAt(fd, block.data(), len, pos - len) < len) break;  // shrank meanwhile: use what we have
    pos -= len;
    newlines += static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
    blocks.push_back(std::move(block));
  }
  std::string data;
  std::size_t total = 0;
  for (const auto& b : blocks) total += b.size();
  data.reserve(total);
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) data += *it;

  std::size_t start = 0;
  if (pos > 0) {  // the first line began before what was read (or before a hole): cut
    const auto nl = data.find('\n');
    if (nl == std::string::npos) return {};
    start = nl + 1;
  }
  const auto last_nl = data.rfind('\n');
  const std::size_t complete_end = last_nl == std::string::npos || last_nl < start ? start : last_nl + 1;
  std::vector<std::string> lines;
  for (std::size_t p = start; p < complete_end;) {
    const auto nl = data.find('\n', p);
    lines.emplace_back(data, p, nl - p);
    p = nl + 1;
  }
  if (partial_last && complete_end < data.size()) lines.emplace_back(data, complete_end);
  if (lines.size() > limit) lines.erase(lines.begin(), lines.end() - static_cast<long>(limit));
  return lines;
}

LogSnapshot newestCapturedLines(const model::StateLayout& layout,
                                const std::vector<model::RunRecord>& runs, std::size_t limit) {
  struct Candidate {
    const model::RunRecord* run;
    LogSource source;
    UniqueFd fd;
    std::uint64_t size = 0;
    TimePoint mtime{};
  };
  std::vector<Candidate> candidates;
  for (const auto& run : runs) {
    Candidate c{&run, LogSource{}, {}, 0, {}};
    c.source.path = model::StateLayout::output(layout.runDir(run.id)).string();
    c.source.name = std::to_string(run.id);
    c.source.run_id = run.id;
    c.fd.reset(::open(c.source.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat st {};
    if (c.fd.valid() && ::fstat(c.fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
      c.size = static_cast<std::uint64_t>(st.st_size);
      c.mtime = modificationTime(st);
      c.source.dev = st.st_dev;
      c.source.ino = st.st_ino;
    } else {
      c.fd.reset();
    }
    candidates.push_back(std::move(c));
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.mtime > b.mtime; });

  std::vector<Ranked> kept;  // at most `limit`, oldest first after each run
  LogSnapshot out;
  bool done = limit == 0;
  for (auto& c : candidates) {
    // Every record of this run (and of the runs after it) is no newer than its mtime.
    if (!done && kept.size() >= limit && *kept.front().line.time > c.mtime) done = true;
    const bool active = !model::isFinal(c.run->state);
    if (c.fd.valid() && !done) {
      const auto lines = tailLines(c.fd.get(), limit, dataStart(c.fd.get(), c.size), c.size, false);
      std::size_t index = 0;
      for (const auto& raw : lines) {
        if (auto parsed = parseCapturedLine(raw, c.source.name)) {
          kept.push_back(Ranked{std::move(*parsed), c.run->id, index++});
        }
      }
      std::sort(kept.begin(), kept.end(), olderThan);
      if (kept.size() > limit) kept.erase(kept.begin(), kept.end() - static_cast<long>(limit));
    }
    if (c.fd.valid() && active) {
      c.source.offset = endOfLastLine(c.fd.get(), 0, c.size);
    }
    // A finished run's output is complete: only active runs are followed.
    if (active) out.sources.push_back(std::move(c.source));
  }
  out.lines.reserve(kept.size());
  for (auto& r : kept) out.lines.push_back(std::move(r.line));
  return out;
}

LogSnapshot newestFileLines(const std::vector<LogFile>& files, std::size_t limit,
                            LogFileOwner owner) {
  constexpr int kMaxRotatedCopies = 1000;  // filelog_rotate_keep's largest value
  struct Block {
    TimePoint mtime;
    std::vector<LogLine> lines;
  };
  std::vector<Block> blocks;
  LogSnapshot out;
  for (const auto& file : files) {
    LogSource source{.path = file.path, .name = file.name, .captured = false,
                     .stream = file.stream};
    UniqueFd fd = openLogFile(file.path, owner);
    struct stat st {};
    if (fd.valid() && ::fstat(fd.get(), &st) == 0) {
      const auto size = static_cast<std::uint64_t>(st.st_size);
      Block block{modificationTime(st), {}};
      std::vector<std::string> texts = tailLines(fd.get(), limit, 0, size, true);
      // Fewer lines than asked: the older ones are in the rotated copies, `<file>.1` the newest
      // (the operator's filelog_rotate_*; docs/logs.md), read from each one's end.
      for (int copy = 1; texts.size() < limit && copy <= kMaxRotatedCopies; ++copy) {
        UniqueFd older = openLogFile(file.path + "." + std::to_string(copy), owner);
        struct stat older_st {};
        if (!older.valid() || ::fstat(older.get(), &older_st) != 0) break;
        auto before = tailLines(older.get(), limit - texts.size(), 0,
                                static_cast<std::uint64_t>(older_st.st_size), true);
        texts.insert(texts.begin(), std::make_move_iterator(before.begin()),
                     std::make_move_iterator(before.end()));
      }
      for (auto& text : texts) {
        block.lines.push_back(LogLine{std::nullopt, file.name, file.stream, std::move(text)});
      }
      blocks.push_back(std::move(block));
      // As `tail -f`: following starts after what exists, a line being written included.
      source.offset = size;
      source.dev = st.st_dev;
      source.ino = st.st_ino;
    }
    out.sources.push_back(std::move(source));
  }
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const Block& a, const Block& b) { return a.mtime < b.mtime; });
  for (auto& block : blocks) {
    for (auto& line : block.lines) out.lines.push_back(std::move(line));
  }
  return out;
}

std::vector<LogLine> readNewLines(LogSource& source, LogFileOwner owner, std::size_t max_bytes,
                                  bool* more) {
  if (more) *more = false;
  UniqueFd fd = source.captured ? UniqueFd(::open(source.path.c_str(),
                                                  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK))
                                : openLogFile(source.path, owner);
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if ((source.ino != 0 && (st.st_ino != source.ino || st.st_dev != source.dev)) ||
      size < source.offset) {
    source.offset = 0;  // a new file under the name, or truncated (copytruncate): start over
  }
  source.dev = st.st_dev;
  source.ino = st.st_ino;
  bool cut_first = false;
  if (source.captured && source.offset < size) {
    const off_t data = ::lseek(fd.get(), static_cast<off_t>(source.offset), SEEK_DATA);
    if (data > static_cast<off_t>(source.offset)) {
      // Retention punched the oldest part away while we were behind: skip the hole.
      source.offset = static_cast<std::uint64_t>(data);
      cut_first = true;
    }
  }
  if (size <= source.offset) return {};
  const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(size - source.offset, max_bytes));
  std::string data(len, '\0');
  data.resize(readAt(fd.get(), data.data(), len, source.offset));
  auto last_nl = data.rfind('\n');
  std::size_t consumed = last_nl + 1;
  if (last_nl == std::string::npos) {
    // A plain line longer than a whole read goes out in pieces; anything else waits for its end.
    if (source.captured || data.size() < max_bytes) return {};
    consumed = data.size();
    data += '\n';
    last_nl = data.size() - 1;
  }
  source.offset += consumed;
  if (more) *more = source.offset < size;
  std::vector<LogLine> lines;
  for (std::size_t p = 0; p <= last_nl;) {
    const auto nl = data.find('\n', p);
    const std::string_view text(data.data() + p, nl - p);
    p = nl + 1;
    if (cut_first) {
      cut_first = false;
      continue;
    }
    if (source.captured) {
      if (auto parsed = parseCapturedLine(text, source.name)) lines.push_back(std::move(*parsed));
    } else {
      lines.push_back(LogLine{std::nullopt, source.name, source.stream, std::string(text)});
    }
  }
  return lines;
}

}  // namespace tjf::service
