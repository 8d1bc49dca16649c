#include "service/logs.hpp"

#include <algorithm>
#include <deque>
#include <fstream>

#include "base/time_format.hpp"

namespace tjf::service {
namespace {

// Keeps the last `limit` lines of a file. Reads from the end in blocks, so a large history
// costs what the wanted lines cost, not the whole file.
std::vector<std::string> tailLines(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in || limit == 0) return {};
  in.seekg(0, std::ios::end);
  std::int64_t pos = in.tellg();
  std::string data;
  constexpr std::int64_t kBlock = 64 * 1024;
  while (pos > 0 && static_cast<std::size_t>(std::count(data.begin(), data.end(), '\n')) <= limit) {
    const std::int64_t len = std::min(kBlock, pos);
    pos -= len;
    std::string block(static_cast<std::size_t>(len), '\0');
    in.seekg(pos);
    in.read(block.data(), len);
    data.insert(0, block);
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < data.size()) {
    auto nl = data.find('\n', start);
    if (nl == std::string::npos) nl = data.size();
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  // The first line may be cut by the block boundary: drop it unless we read from offset 0.
  if (pos > 0 && !lines.empty()) lines.erase(lines.begin());
  if (lines.size() > limit) lines.erase(lines.begin(), lines.end() - static_cast<long>(limit));
  return lines;
}

}  // namespace

std::optional<LogLine> parseCapturedLine(std::string_view line, const std::string& source) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos || space + 2 >= line.size() + 1) return std::nullopt;
  if (line.size() < space + 3 || line[space + 2] != ' ') return std::nullopt;
  LogLine out;
  try {
    const auto micros = std::stoll(std::string(line.substr(0, space)));
    out.time = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::microseconds(micros)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  out.stream = line[space + 1];
  out.source = source;
  out.message = std::string(line.substr(space + 3));
  return out;
}

std::vector<LogLine> newestCapturedLines(const model::StateLayout& layout,
                                         const std::vector<model::RunRecord>& runs,
                                         std::size_t limit) {
  std::deque<LogLine> out;
  for (auto it = runs.rbegin(); it != runs.rend() && out.size() < limit; ++it) {
    const auto path = model::StateLayout::output(layout.runDir(it->id)).string();
    const auto lines = tailLines(path, limit - out.size());
    for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
      if (auto parsed = parseCapturedLine(*line, std::to_string(it->id))) {
        out.push_front(std::move(*parsed));
      }
    }
  }
  return {out.begin(), out.end()};
}

std::vector<LogLine> newestFileLines(const std::vector<std::string>& paths, std::size_t limit) {
  std::vector<LogLine> out;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    for (auto& line : tailLines(paths[i], limit)) {
      out.push_back(LogLine{std::nullopt, paths[i], i == 0 ? 'o' : 'e', std::move(line)});
    }
  }
  return out;
}

std::vector<std::string> readNewLines(const std::string& path, std::uint64_t* offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  if (size < *offset) *offset = 0;  // truncated (copytruncate rotation): start over
  if (size == *offset) return {};
  in.seekg(static_cast<std::streamoff>(*offset));
  std::string data(size - *offset, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  const auto last_nl = data.rfind('\n');
  if (last_nl == std::string::npos) return {};
  *offset += last_nl + 1;
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= last_nl) {
    const auto nl = data.find('\n', start);
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace tjf::service
