#include "notify/stderr_tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

#include "base/unique_fd.hpp"
#include "service/logs.hpp"

namespace tjf::notify {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; }
  else return 0;
  if (i + len > s.size()) return 0;
  unsigned cp = c & (0xFF >> (len + 1));
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Reads at most the last `max_bytes` of an open file and splits it into lines. A first line that
// may have been cut by the start of the window is dropped.
std::vector<std::string> lastLinesOf(int fd, std::size_t max_bytes) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) return {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t len = std::min(size, max_bytes);
  std::string data(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, data.data() + got, len - got,
                              static_cast<off_t>(size - len + got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < data.size()) {
    auto nl = data.find('\n', start);
    if (nl == std::string::npos) nl = data.size();
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  if (len < size && !lines.empty()) lines.erase(lines.begin());
  return lines;
}

}  // namespace

std::string cleanLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string out;
  out.reserve(std::min(line.size(), kMaxLineBytes) + 8);
  for (std::size_t i = 0; i < line.size();) {
    const std::size_t len = utf8Length(line, i);
    std::string_view piece;
    if (len == 0) {
      piece = kReplacement;
    } else if (len == 1 && ((static_cast<unsigned char>(line[i]) < 0x20 && line[i] != '\t') ||
                            line[i] == 0x7F)) {
      piece = kReplacement;
    } else {
      piece = line.substr(i, len);
    }
    if (out.size() + piece.size() > kMaxLineBytes) {
      out += "...";
      return out;
    }
    out += piece;
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::vector<std::string> capturedStderrTail(const std::filesystem::path& output_log,
                                            std::size_t limit) {
  // The shim writes output.log in the daemon's own state directory: no ownership checks needed.
  UniqueFd fd(::open(output_log.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid() || limit == 0) return {};
  std::deque<std::string> kept;
  for (const auto& raw : lastLinesOf(fd.get(), kMaxTailBytes)) {
    auto line = service::parseCapturedLine(raw, "");
    if (!line || line->stream != 'e') continue;
    kept.push_back(cleanLine(line->message));
    if (kept.size() > limit) kept.pop_front();
  }
  return {kept.begin(), kept.end()};
}

FileTail fileTail(const std::filesystem::path& path, std::size_t limit,
                  std::optional<uid_t> owner) {
  FileTail tail;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, on the loop.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return tail;
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return tail;
  if (owner && st.st_uid != *owner) return tail;
  tail.readable = true;
  auto lines = lastLinesOf(fd.get(), kMaxTailBytes);
  if (lines.size() > limit) lines.erase(lines.begin(), lines.end() - static_cast<long>(limit));
  for (auto& line : lines) line = cleanLine(line);
  tail.lines = std::move(lines);
  return tail;
}

}  // namespace tjf::notify
