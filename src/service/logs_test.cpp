#include "service/logs.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tjf::service {
namespace {

namespace fs = std::filesystem;

TimePoint at(std::int64_t micros) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

std::string record(std::int64_t micros, char stream, const std::string& text) {
  return std::to_string(micros) + " " + stream + " " + text + "\n";
}

// Bytes this process has read with read(2)/pread(2) so far (/proc/self/io), to prove that a
// request reads what its lines cost and not the history.
std::uint64_t bytesRead() {
  std::ifstream in("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "rchar:") return value;
  }
  return 0;
}

class LogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tjf-logs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(layout().runsDir());
  }
  void TearDown() override { fs::remove_all(dir_); }

  model::StateLayout layout() const { return model::StateLayout(dir_ / "state"); }
  std::string outputOf(std::int64_t run_id) const {
    return model::StateLayout::output(layout().runDir(run_id)).string();
  }
  void write(const std::string& path, const std::string& content, bool append = true) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, append ? std::ios::binary | std::ios::app : std::ios::binary);
    out << content;
  }
  // Sets a file's modification time (seconds since the epoch).
  static void touch(const std::string& path, std::int64_t seconds) {
    timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
  static model::RunRecord run(std::int64_t id, model::RunState state = model::RunState::kSucceeded) {
    model::RunRecord r;
    r.id = id;
    r.state = state;
    return r;
  }
  static std::vector<std::string> messages(const std::vector<LogLine>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l.source + ":" + l.message);
    return out;
  }

  fs::path dir_;
};

TEST(ParseCapturedLine, ReadsTimeStreamAndTextAndRefusesWhatIsNotARecord) {
  const auto line = parseCapturedLine("1700000000123456 e some text ", "42");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line->time, at(1700000000123456));
  EXPECT_EQ(line->stream, 'e');
  EXPECT_EQ(line->source, "42");
  EXPECT_EQ(line->message, "some text ");
  EXPECT_EQ(parseCapturedLine("1 o ", "")->message, "");
  EXPECT_FALSE(parseCapturedLine("", ""));
  EXPECT_FALSE(parseCapturedLine("1 o", ""));
  EXPECT_FALSE(parseCapturedLine("x1 o text", ""));
  EXPECT_FALSE(parseCapturedLine(std::string(20, '\0') + " o z", ""));  // a punched hole
  EXPECT_FALSE(parseCapturedLine("12 oxtext", ""));
}

TEST_F(LogsTest, TailReturnsTheLastLinesAndHandlesTheEdges) {
  const auto path = (dir_ / "f").string();
  write(path, "one\ntwo\nthree\npartial");
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  const auto size = fs::file_size(path);
  EXPECT_EQ(tailLines(fd.get(), 2, 0, size, false), (std::vector<std::string>{"two", "three"}));
  EXPECT_EQ(tailLines(fd.get(), 2, 0, size, true), (std::vector<std::string>{"three", "partial"}));
  EXPECT_EQ(tailLines(fd.get(), 10, 0, size, false),
            (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(tailLines(fd.get(), 0, 0, size, true).empty());
  // A window that starts inside a line drops that line: it is cut.
  EXPECT_EQ(tailLines(fd.get(), 10, 5, size, false), (std::vector<std::string>{"three"}));
  // Empty lines are lines.
  write(path, "\n\nx\n", false);
  fd.reset(::open(path.c_str(), O_RDONLY));
  EXPECT_EQ(tailLines(fd.get(), 5, 0, fs::file_size(path), false),
            (std::vector<std::string>{"", "", "x"}));
}

TEST_F(LogsTest, TailOfAHugeFileReadsOnlyTheEnd) {
  const auto path = (dir_ / "big").string();
  {
    std::ofstream out(path, std::ios::binary);
    const std::string line = std::string(99, 'x') + "\n";
    for (int i = 0; i < 400'000; ++i) out << line;  // 40 MB
    out << "last\n";
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  const auto before = bytesRead();
  const auto lines = tailLines(fd.get(), 100, 0, fs::file_size(path), false);
  const auto read = bytesRead() - before;
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.back(), "last");
  EXPECT_LT(read, 256u * 1024) << "100 lines of 100 bytes must not cost the whole file";
}

TEST_F(LogsTest, ALineLongerThanTheReadBudgetIsDroppedNotReadWhole) {
  const auto path = (dir_ / "long").string();
  write(path, "short\n" + std::string(1 << 20, 'z') + "\nend\n");
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  EXPECT_EQ(tailLines(fd.get(), 10, 0, fs::file_size(path), false, 64 * 1024),
            (std::vector<std::string>{"end"}));
}

TEST_F(LogsTest, NewestLinesAcrossRunsAreMergedByTimeAndComeFromTheNewestRuns) {
  // Two replicas writing at once (runs 1 and 2), then a restart (run 3).
  write(outputOf(1), record(100, 'o', "r1 a") + record(300, 'o', "r1 b") + record(500, 'e', "r1 c"));
  write(outputOf(2), record(200, 'o', "r2 a") + record(400, 'o', "r2 b"));
  write(outputOf(3), record(600, 'o', "r3 a") + record(700, 'o', "r3 b"));
  touch(outputOf(1), 10);
  touch(outputOf(2), 10);
  touch(outputOf(3), 20);
  const std::vector<model::RunRecord> runs = {run(1), run(2), run(3)};
  auto snap = newestCapturedLines(layout(), runs, 4);
  EXPECT_EQ(messages(snap.lines),
            (std::vector<std::string>{"2:r2 b", "1:r1 c", "3:r3 a", "3:r3 b"}));
  EXPECT_EQ(snap.lines[1].stream, 'e');
  snap = newestCapturedLines(layout(), runs, 100);
  EXPECT_EQ(snap.lines.size(), 7u);
  EXPECT_EQ(messages(snap.lines).front(), "1:r1 a");
  EXPECT_TRUE(snap.sources.empty()) << "finished runs are complete: nothing to follow";
  EXPECT_TRUE(newestCapturedLines(layout(), runs, 0).lines.empty());
}

TEST_F(LogsTest, OlderRunsAreNotReadOnceTheNewestLinesAreKnown) {
  const std::string filler = record(1, 'o', std::string(1000, 'x'));
  std::string old_content;
  for (int i = 0; i < 2000; ++i) old_content += filler;  // 2 MB per old run
  std::vector<model::RunRecord> runs;
  for (int id = 1; id <= 20; ++id) {
    write(outputOf(id), old_content);
    touch(outputOf(id), 1000 + id);
    runs.push_back(run(id));
  }
  write(outputOf(21), record(5'000'000'000'000, 'o', "newest"));
  runs.push_back(run(21, model::RunState::kRunning));
  const auto before = bytesRead();
  const auto snap = newestCapturedLines(layout(), runs, 1);
  EXPECT_LT(bytesRead() - before, 512u * 1024) << "40 MB of older runs were read";
  EXPECT_EQ(messages(snap.lines), (std::vector<std::string>{"21:newest"}));
  ASSERT_EQ(snap.sources.size(), 1u);
  EXPECT_EQ(snap.sources[0].run_id, 21);
  EXPECT_EQ(snap.sources[0].offset, fs::file_size(outputOf(21)));
}

TEST_F(LogsTest, AFollowerGetsEveryRecordOnceAcrossAppendsAndARecordBeingWritten) {
  write(outputOf(5), record(1, 'o', "before"));
  auto snap = newestCapturedLines(layout(), {run(5, model::RunState::kRunning)}, 10);
  ASSERT_EQ(snap.sources.size(), 1u);
  LogSource& source = snap.sources[0];
  EXPECT_TRUE(readNewLines(source, std::nullopt).empty());
  write(outputOf(5), record(2, 'o', "first") + "3 e half of a rec");
  EXPECT_EQ(messages(readNewLines(source, std::nullopt)), (std::vector<std::string>{"5:first"}));
  write(outputOf(5), "ord\n" + record(4, 'o', "next"));
  const auto lines = readNewLines(source, std::nullopt);
  EXPECT_EQ(messages(lines), (std::vector<std::string>{"5:half of a record", "5:next"}));
  EXPECT_EQ(lines[0].stream, 'e');
}

TEST_F(LogsTest, AFollowerSkipsAHolePunchedByRetention) {
  std::string content;
  for (int i = 0; i < 3000; ++i) content += record(i, 'o', "line " + std::to_string(i));
  write(outputOf(9), content);
  LogSource source{.path = outputOf(9), .name = "9", .captured = true};
  UniqueFd fd(::open(outputOf(9).c_str(), O_RDWR));
  if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 16384) != 0) {
    GTEST_SKIP() << "this filesystem cannot punch holes";
  }
  EXPECT_EQ(dataStart(fd.get(), fs::file_size(outputOf(9))), 16384u);
  const auto lines = readNewLines(source, std::nullopt, 1 << 20);
  ASSERT_FALSE(lines.empty());
  // The first line after the hole was cut by it: it is left out, the rest is whole.
  EXPECT_EQ(lines.back().message, "line 2999");
  const auto first = std::stoi(lines.front().message.substr(5));
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(3000 - first));
  // And the tail of a file with a hole never reads into the hole.
  EXPECT_EQ(tailLines(fd.get(), 5000, dataStart(fd.get(), fs::file_size(outputOf(9))),
                      fs::file_size(outputOf(9)), false)
                .size(),
            lines.size());
}

TEST_F(LogsTest, APlainFileIsFollowedAcrossTruncationAndReplacement) {
  const auto path = (dir_ / "job.out").string();
  write(path, "old\n");
  auto snap = newestFileLines({{path, "job.out", 'o'}}, 10);
  ASSERT_EQ(snap.sources.size(), 1u);
  LogSource& source = snap.sources[0];
  EXPECT_EQ(messages(snap.lines), (std::vector<std::string>{"job.out:old"}));
  write(path, "a\nb");
  EXPECT_EQ(messages(readNewLines(source, std::nullopt)), (std::vector<std::string>{"job.out:a"}));
  // copytruncate: the file starts again; everything in it is new.
  ::truncate(path.c_str(), 0);
  write(path, "c\n");
  EXPECT_EQ(messages(readNewLines(source, std::nullopt)), (std::vector<std::string>{"job.out:c"}));
  // Replaced under the name (create-style rotation): the new file from its start.
  fs::rename(path, path + ".1");
  write(path, "d\n");
  EXPECT_EQ(messages(readNewLines(source, std::nullopt)), (std::vector<std::string>{"job.out:d"}));
}

TEST_F(LogsTest, APlainLineLongerThanOneReadGoesOutInPieces) {
  const auto path = (dir_ / "job.out").string();
  write(path, "");
  LogSource source{.path = path, .name = "job.out", .captured = false};
  write(path, std::string(100, 'q'));
  bool more = false;
  auto lines = readNewLines(source, std::nullopt, 60, &more);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].message, std::string(60, 'q'));
  EXPECT_TRUE(more);
  EXPECT_TRUE(readNewLines(source, std::nullopt, 60, &more).empty()) << "40 bytes: not a line yet";
  write(path, "\n");
  EXPECT_EQ(readNewLines(source, std::nullopt, 60)[0].message, std::string(40, 'q'));
}

TEST_F(LogsTest, FileLogsComeInOrderOfLastWriteWithTheLineStillBeingWritten) {
  const auto out = (dir_ / "job.out").string();
  const auto err = (dir_ / "job.err").string();
  write(out, "o1\no2\n");
  write(err, "e1\ne2 no newline yet");
  touch(out, 200);
  touch(err, 100);
  auto snap = newestFileLines({{out, "job.out", 'o'}, {err, "job.err", 'e'}}, 1);
  EXPECT_EQ(messages(snap.lines),
            (std::vector<std::string>{"job.err:e2 no newline yet", "job.out:o2"}));
  EXPECT_EQ(snap.lines[0].stream, 'e');
  EXPECT_FALSE(snap.lines[0].time);
  ASSERT_EQ(snap.sources.size(), 2u);
  EXPECT_EQ(snap.sources[1].offset, fs::file_size(err)) << "as tail -f: after what exists";
}

TEST_F(LogsTest, OlderLinesComeFromTheRotatedCopiesNewestCopyFirst) {
  const auto out = (dir_ / "bot.out").string();
  write(out + ".2", "r1\nr2\n");
  write(out + ".1", "r3\nr4\n");
  write(out, "c1\n");
  auto snap = newestFileLines({{out, "bot.out", 'o'}}, 4);
  EXPECT_EQ(messages(snap.lines),
            (std::vector<std::string>{"bot.out:r2", "bot.out:r3", "bot.out:r4", "bot.out:c1"}));
  snap = newestFileLines({{out, "bot.out", 'o'}}, 100);
  EXPECT_EQ(snap.lines.size(), 5u);
  EXPECT_EQ(messages(newestFileLines({{out, "bot.out", 'o'}}, 1).lines),
            (std::vector<std::string>{"bot.out:c1"}))
      << "copies are read only for lines the file does not have";
  ASSERT_EQ(snap.sources.size(), 1u);
  EXPECT_EQ(snap.sources[0].offset, fs::file_size(out)) << "following goes on in the file itself";
}

TEST_F(LogsTest, FilesTheOwnerDoesNotOwnOrThatAreNotRegularReadAsNothing) {
  const auto out = (dir_ / "job.out").string();
  write(out, "secret\n");
  const uid_t someone_else = ::getuid() + 1;
  EXPECT_TRUE(newestFileLines({{out, "job.out", 'o'}}, 10, someone_else).lines.empty());
  EXPECT_EQ(newestFileLines({{out, "job.out", 'o'}}, 10, ::getuid()).lines.size(), 1u);
  const auto fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(newestFileLines({{fifo, "fifo", 'o'}}, 10).lines.empty()) << "and it did not block";
  EXPECT_TRUE(newestFileLines({{(dir_ / "missing").string(), "missing", 'o'}}, 10).lines.empty());
}

}  // namespace
}  // namespace tjf::service
