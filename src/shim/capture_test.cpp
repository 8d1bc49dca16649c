#include "shim/capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace tjf::shim {
namespace {

const TimePoint kT1 = TimePoint(std::chrono::microseconds(1'700'000'000'123'456));
const TimePoint kT2 = TimePoint(std::chrono::microseconds(1'700'000'001'000'000));

// A capture writer into a temporary file, and the file's content.
class CaptureFile {
 public:
  CaptureFile() {
    char tmpl[] = "/tmp/tjf-capture-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    path_ = tmpl;
    ::close(fd);
    EXPECT_TRUE(writer.open(path_));
  }
  ~CaptureFile() { std::filesystem::remove(path_); }
  std::string content() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::stringstream s(content());
    for (std::string line; std::getline(s, line);) out.push_back(line);
    return out;
  }
  CaptureWriter writer;

 private:
  std::string path_;
};

CapturedStream stream(char tag) {
  CapturedStream s;
  s.tag = tag;
  return s;
}

TEST(Capture, EachCompleteLineBecomesOneRecordWithTimeAndStream) {
  CaptureFile f;
  auto out = stream('o');
  auto err = stream('e');
  f.writer.consume(out, "hello\nworld\n", kT1, false);
  f.writer.consume(err, "oops\n", kT2, false);
  f.writer.consume(out, "\n", kT2, false);  // an empty line is a line too
  EXPECT_EQ(f.content(),
            "1700000000123456 o hello\n"
            "1700000000123456 o world\n"
            "1700000001000000 e oops\n"
            "1700000001000000 o \n");
  EXPECT_EQ(f.writer.stats().lines, 4u);
  EXPECT_EQ(f.writer.stats().bytes, 18u);
  EXPECT_EQ(f.writer.stats().lost_lines, 0u);
}

TEST(Capture, APartialLineWaitsForItsNewlineAndKeepsItsBytesInOrder) {
  CaptureFile f;
  auto out = stream('o');
  f.writer.consume(out, "abc", kT1, false);
  EXPECT_EQ(f.content(), "") << "nothing is written before the line is complete";
  f.writer.consume(out, "def\nghi", kT2, false);
  EXPECT_EQ(f.content(), "1700000001000000 o abcdef\n");
  EXPECT_EQ(out.partial, "ghi");
  f.writer.consume(out, {}, kT2, true);  // the pipe closed: the last line is kept as it is
  EXPECT_EQ(f.content(), "1700000001000000 o abcdef\n1700000001000000 o ghi\n");
  EXPECT_TRUE(out.partial.empty());
  f.writer.consume(out, {}, kT2, true);
  EXPECT_EQ(f.lines().size(), 2u) << "an end without a partial line writes nothing";
}

TEST(Capture, TextIsKeptByteForByteIncludingCarriageReturnsTabsAndInvalidUtf8) {
  CaptureFile f;
  auto out = stream('o');
  const std::string odd = std::string("a\tb\rc \xff\xfe ") + '\0' + "z";
  f.writer.consume(out, odd + "\n", kT1, false);
  EXPECT_EQ(f.content(), "1700000000123456 o " + odd + "\n");
}

TEST(Capture, AVeryLongLineIsCutIntoPiecesOfTheMaximumAndNothingIsLost) {
  CaptureFile f;
  auto out = stream('o');
  std::string line;
  for (std::size_t i = 0; i < 3 * kMaxRecordText + 1000; ++i) line += char('a' + i % 26);
  f.writer.consume(out, line + "\nnext\n", kT1, false);
  const auto lines = f.lines();
  ASSERT_EQ(lines.size(), 5u);
  std::string joined;
  const std::string prefix = "1700000000123456 o ";
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(lines[i].compare(0, prefix.size(), prefix), 0);
    const std::string text = lines[i].substr(prefix.size());
    EXPECT_EQ(text.size(), i < 3 ? kMaxRecordText : 1000u);
    joined += text;
  }
  EXPECT_EQ(joined, line);
  EXPECT_EQ(lines[4], prefix + "next");
}

TEST(Capture, AnEndlessLineReachesTheStoreInPiecesAsItIsWritten) {
  CaptureFile f;
  auto out = stream('o');
  const std::string chunk(40 * 1024, 'x');
  f.writer.consume(out, chunk, kT1, false);
  EXPECT_EQ(f.lines().size(), 0u);
  f.writer.consume(out, chunk, kT1, false);  // 80 KiB without a newline: one piece goes out
  ASSERT_EQ(f.lines().size(), 1u);
  EXPECT_EQ(f.lines()[0].size(), std::string("1700000000123456 o ").size() + kMaxRecordText);
  EXPECT_EQ(out.partial.size(), 80 * 1024 - kMaxRecordText);
  // A piece and a newline that completes the waiting part exactly: no empty record after it.
  f.writer.consume(out, std::string(kMaxRecordText - out.partial.size(), 'y') + "\n", kT1, false);
  EXPECT_EQ(f.lines().size(), 2u);
}

TEST(Capture, MegabytesOfTinyLinesComeOutCompleteAndInOrder) {
  CaptureFile f;
  auto out = stream('o');
  std::string data;
  constexpr int kLines = 300'000;
  for (int i = 0; i < kLines; ++i) data += std::to_string(i) + "\n";
  // Fed in odd-sized reads, as a pipe delivers them.
  for (std::size_t pos = 0; pos < data.size(); pos += 77'777) {
    f.writer.consume(out, std::string_view(data).substr(pos, 77'777), kT1, false);
  }
  const auto lines = f.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kLines));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(lines[static_cast<std::size_t>(i)], "1700000000123456 o " + std::to_string(i));
  }
  EXPECT_EQ(f.writer.stats().lines, static_cast<std::uint64_t>(kLines));
}

TEST(Capture, AFullDiskDropsLinesWithACountInsteadOfBlocking) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!full.valid()) GTEST_SKIP() << "no /dev/full to stand for a full disk";
  CaptureWriter writer(std::move(full));
  auto out = stream('o');
  writer.consume(out, "a\nb\nc\n", kT1, false);
  writer.consume(out, "d\n", kT1, false);
  EXPECT_EQ(writer.stats().lines, 0u);
  EXPECT_EQ(writer.stats().lost_lines, 4u) << "the notice owed is not written either";
}

// A writer whose "disk" is a non-blocking pipe of 4 KiB that nobody reads for a while: writes
// fail (EAGAIN) or are cut short, the way a full disk cuts them.
TEST(Capture, AfterALossTheNextWriteSaysHowManyLinesWereLostAndLinesResumeIntact) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  UniqueFd reader(fds[0]);
  ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
  CaptureWriter writer{UniqueFd(fds[1])};
  auto out = stream('o');
  std::string data;
  constexpr int kLines = 5000;
  for (int i = 0; i < kLines; ++i) data += "line " + std::to_string(i) + "\n";
  writer.consume(out, data, kT1, false);
  const auto lost = writer.stats().lost_lines;
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(writer.stats().lines + lost, static_cast<std::uint64_t>(kLines));

  auto drain = [&] {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(reader.get(), buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    return got;
  };
  std::string got = drain();
  writer.consume(out, "after\n", kT2, false);
  got += drain();

  std::vector<std::string> lines;
  std::stringstream s(got);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  // The records that were written come first, whole and in order; a record cut by the failed
  // write may follow, ended by the notice's own newline.
  const std::uint64_t written = writer.stats().lines - 1;  // without "after"
  ASSERT_GE(lines.size(), written + 2);
  for (std::uint64_t i = 0; i < written; ++i) {
    ASSERT_EQ(lines[i], "1700000000123456 o line " + std::to_string(i));
  }
  EXPECT_EQ(lines[lines.size() - 2],
            "1700000001000000 e tjf: " + std::to_string(lost) +
                " lines of output were lost (the log store could not be written: " +
                std::strerror(EAGAIN) + ")");
  EXPECT_EQ(lines.back(), "1700000001000000 o after");
  EXPECT_EQ(writer.stats().lost_notices, 1u);
}

}  // namespace
}  // namespace tjf::shim
