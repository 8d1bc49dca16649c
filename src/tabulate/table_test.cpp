// Expected strings were produced by python-tabulate 0.8.9 (Debian bookworm python3-tabulate,
// with python3-wcwidth 0.2.5 installed) and Python 3.11's textwrap, then pasted here; the tests
// do not run Python. Regenerate with tools/gen_table_test.py.
#include "tabulate/table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tjf::tabulate {
namespace {

// `toolforge jobs list` with the seed's jobs (the seed's Status rule was hand-shortened).
TEST(FormatSimple, SeedList) {
  const std::vector<Row> rows = {
      {"myscheduledjob", "schedule: @hourly", "Last schedule time: 2021-06-30T10:26:00Z"},
      {"alwaysrunning", "continuous", "Running"},
      {"myjob", "normal", "Completed"}};
  const Row headers = {"Job name:", "Job type:", "Status:"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Job name:       Job type:          Status:\n"
            "--------------  -----------------  ----------------------------------------\n"
            "myscheduledjob  schedule: @hourly  Last schedule time: 2021-06-30T10:26:00Z\n"
            "alwaysrunning   continuous         Running\n"
            "myjob           normal             Completed");
}

// `toolforge jobs list --output long`.
TEST(FormatSimple, SeedListLong) {
  const std::vector<Row> rows = {
      {"myscheduledjob", "./read-dumps.sh", "schedule: @hourly", "bullseye", "no", "/dev/null",
       "/dev/null", "none", "default", "no", "Running"},
      {"alwaysrunning", "./myendlesscommand.sh", "continuous", "bullseye", "yes", "test2.out",
       "test2.err", "none", "default", "no", "Running"},
      {"myjob", "./mycommand.sh --debug", "normal", "bullseye (deprecated)", "yes", "logs/mylog",
       "logs/mylog", "onfinish", "mem: 1Gi, cpu: default", "yes: 2 time(s)", "Completed"}};
  const Row headers = {"Job name:",  "Command:", "Job type:",  "Image:", "File log:", "Output log:",
                       "Error log:", "Emails:",  "Resources:", "Retry:", "Status:"};
  EXPECT_EQ(
      formatSimple(rows, headers),
      "Job name:       Command:                Job type:          Image:                 File log:    Output log:    Error log:    Emails:    Resources:              Retry:          Status:\n"
      "--------------  ----------------------  -----------------  ---------------------  -----------  -------------  ------------  ---------  ----------------------  --------------  ---------\n"
      "myscheduledjob  ./read-dumps.sh         schedule: @hourly  bullseye               no           /dev/null      /dev/null     none       default                 no              Running\n"
      "alwaysrunning   ./myendlesscommand.sh   continuous         bullseye               yes          test2.out      test2.err     none       default                 no              Running\n"
      "myjob           ./mycommand.sh --debug  normal             bullseye (deprecated)  yes          logs/mylog     logs/mylog    onfinish   mem: 1Gi, cpu: default  yes: 2 time(s)  Completed");
}

// The seed's long listing cell for cell (the seed padded Command by one column by hand).
TEST(FormatSimple, SeedListLongVerbatim) {
  const std::vector<Row> rows = {
      {"myscheduledjob", "./read-dumps.sh", "schedule: @hourly", "bullseye", "no", "/dev/null",
       "/dev/null", "none", "default", "no", "Running"},
      {"alwaysrunning", "./myendlesscommand.sh", "continuous", "bullseye", "yes", "test2.out",
       "test2.err", "none", "default", "no", "Running"},
      {"myjob", "./mycommand.sh --debug", "normal", "bullseye", "yes", "logs/mylog", "logs/mylog",
       "onfinish", "default", "2", "Completed"}};
  const Row headers = {"Job name:",  "Command:", "Job type:",  "Image:", "File log:", "Output log:",
                       "Error log:", "Emails:",  "Resources:", "Retry:", "Status:"};
  EXPECT_EQ(
      formatSimple(rows, headers),
      "Job name:       Command:                Job type:          Image:    File log:    Output log:    Error log:    Emails:    Resources:    Retry:    Status:\n"
      "--------------  ----------------------  -----------------  --------  -----------  -------------  ------------  ---------  ------------  --------  ---------\n"
      "myscheduledjob  ./read-dumps.sh         schedule: @hourly  bullseye  no           /dev/null      /dev/null     none       default       no        Running\n"
      "alwaysrunning   ./myendlesscommand.sh   continuous         bullseye  yes          test2.out      test2.err     none       default       no        Running\n"
      "myjob           ./mycommand.sh --debug  normal             bullseye  yes          logs/mylog     logs/mylog    onfinish   default       2         Completed");
}

// `toolforge jobs images`: identical to the seed's table.
TEST(FormatSimple, SeedImages) {
  const std::vector<Row> rows = {
      {"bookworm", "docker-registry.tools.wmflabs.org/toolforge-bookworm-sssd:latest"},
      {"bullseye", "docker-registry.tools.wmflabs.org/toolforge-bullseye-sssd:latest"},
      {"jdk17", "docker-registry.tools.wmflabs.org/toolforge-jdk17-sssd-base:latest"},
      {"mariadb", "docker-registry.tools.wmflabs.org/toolforge-mariadb-sssd-base:latest"},
      {"mono6.8", "docker-registry.tools.wmflabs.org/toolforge-mono68-sssd-base:latest"},
      {"node16", "docker-registry.tools.wmflabs.org/toolforge-node16-sssd-base:latest"},
      {"node18", "docker-registry.tools.wmflabs.org/toolforge-node18-sssd-base:latest"},
      {"perl5.32", "docker-registry.tools.wmflabs.org/toolforge-perl532-sssd-base:latest"},
      {"perl5.36", "docker-registry.tools.wmflabs.org/toolforge-perl536-sssd-base:latest"},
      {"php7.4", "docker-registry.tools.wmflabs.org/toolforge-php74-sssd-base:latest"},
      {"php8.2", "docker-registry.tools.wmflabs.org/toolforge-php82-sssd-base:latest"},
      {"python3.9", "docker-registry.tools.wmflabs.org/toolforge-python39-sssd-base:latest"},
      {"python3.11", "docker-registry.tools.wmflabs.org/toolforge-python311-sssd-base:latest"},
      {"ruby2.1", "docker-registry.tools.wmflabs.org/toolforge-ruby21-sssd-base:latest"},
      {"ruby2.7", "docker-registry.tools.wmflabs.org/toolforge-ruby27-sssd-base:latest"},
      {"ruby3.1", "docker-registry.tools.wmflabs.org/toolforge-ruby31-sssd-base:latest"},
      {"tcl8.6", "docker-registry.tools.wmflabs.org/toolforge-tcl86-sssd-base:latest"}};
  const Row headers = {"Short name", "Container image URL"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Short name    Container image URL\n"
            "------------  ----------------------------------------------------------------------\n"
            "bookworm      docker-registry.tools.wmflabs.org/toolforge-bookworm-sssd:latest\n"
            "bullseye      docker-registry.tools.wmflabs.org/toolforge-bullseye-sssd:latest\n"
            "jdk17         docker-registry.tools.wmflabs.org/toolforge-jdk17-sssd-base:latest\n"
            "mariadb       docker-registry.tools.wmflabs.org/toolforge-mariadb-sssd-base:latest\n"
            "mono6.8       docker-registry.tools.wmflabs.org/toolforge-mono68-sssd-base:latest\n"
            "node16        docker-registry.tools.wmflabs.org/toolforge-node16-sssd-base:latest\n"
            "node18        docker-registry.tools.wmflabs.org/toolforge-node18-sssd-base:latest\n"
            "perl5.32      docker-registry.tools.wmflabs.org/toolforge-perl532-sssd-base:latest\n"
            "perl5.36      docker-registry.tools.wmflabs.org/toolforge-perl536-sssd-base:latest\n"
            "php7.4        docker-registry.tools.wmflabs.org/toolforge-php74-sssd-base:latest\n"
            "php8.2        docker-registry.tools.wmflabs.org/toolforge-php82-sssd-base:latest\n"
            "python3.9     docker-registry.tools.wmflabs.org/toolforge-python39-sssd-base:latest\n"
            "python3.11    docker-registry.tools.wmflabs.org/toolforge-python311-sssd-base:latest\n"
            "ruby2.1       docker-registry.tools.wmflabs.org/toolforge-ruby21-sssd-base:latest\n"
            "ruby2.7       docker-registry.tools.wmflabs.org/toolforge-ruby27-sssd-base:latest\n"
            "ruby3.1       docker-registry.tools.wmflabs.org/toolforge-ruby31-sssd-base:latest\n"
            "tcl8.6        docker-registry.tools.wmflabs.org/toolforge-tcl86-sssd-base:latest");
}

// Quota: Used is all-int so right-aligned; Limit holds "8Gi" so it is text.
TEST(FormatSimple, SeedQuotaRunningJobs) {
  const std::vector<Row> rows = {{"Total running jobs at once (Kubernetes pods)", "0", "10"},
                                 {"Running one-off and cron jobs", "0", "15"},
                                 {"CPU", "0", "2"},
                                 {"Memory", "0", "8Gi"}};
  const Row headers = {"Running jobs", "Used", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Running jobs                                    Used  Limit\n"
            "--------------------------------------------  ------  -------\n"
            "Total running jobs at once (Kubernetes pods)       0  10\n"
            "Running one-off and cron jobs                      0  15\n"
            "CPU                                                0  2\n"
            "Memory                                             0  8Gi");
}

TEST(FormatSimple, SeedQuotaPerJobLimits) {
  const std::vector<Row> rows = {{"CPU", "1"}, {"Memory", "4Gi"}};
  const Row headers = {"Per-job limits", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Per-job limits    Limit\n"
            "----------------  -------\n"
            "CPU               1\n"
            "Memory            4Gi");
}

// Both columns numeric: right-aligned, headers too.
TEST(FormatSimple, SeedQuotaJobDefinitions) {
  const std::vector<Row> rows = {{"Cron jobs", "0", "50"},
                                 {"Continuous jobs (including web services)", "0", "3"}};
  const Row headers = {"Job definitions", "Used", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Job definitions                             Used    Limit\n"
            "----------------------------------------  ------  -------\n"
            "Cron jobs                                      0       50\n"
            "Continuous jobs (including web services)       0        3");
}

// The spec fixture's values: "0.5Gi"/"8.0Gi" make both columns text, so "4.0" stays.
TEST(FormatSimple, FixtureQuotaRunningJobs) {
  const std::vector<Row> rows = {{"Total running jobs at once (Kubernetes pods)", "2", "10"},
                                 {"Running one-off and cron jobs", "1", "15"},
                                 {"CPU", "0.5", "4.0"},
                                 {"Memory", "0.5Gi", "8.0Gi"}};
  const Row headers = {"Running jobs", "Used", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Running jobs                                  Used    Limit\n"
            "--------------------------------------------  ------  -------\n"
            "Total running jobs at once (Kubernetes pods)  2       10\n"
            "Running one-off and cron jobs                 1       15\n"
            "CPU                                           0.5     4.0\n"
            "Memory                                        0.5Gi   8.0Gi");
}

TEST(FormatSimple, FixtureQuotaPerJobLimits) {
  const std::vector<Row> rows = {{"CPU", "1.0"}, {"Memory", "4.0Gi"}};
  const Row headers = {"Per-job limits", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Per-job limits    Limit\n"
            "----------------  -------\n"
            "CPU               1.0\n"
            "Memory            4.0Gi");
}

// All-numeric columns with a float are printed with format(x, "g"): "4.0" -> "4".
TEST(FormatSimple, FloatColumnReformatted) {
  const std::vector<Row> rows = {{"CPU", "0.5", "4.0"}, {"Pods", "2", "10"}};
  const Row headers = {"Running jobs", "Used", "Limit"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Running jobs      Used    Limit\n"
            "--------------  ------  -------\n"
            "CPU                0.5        4\n"
            "Pods               2         10");
}

// Decimal alignment: "1" gets trailing blanks so the points line up.
TEST(FormatSimple, DecimalIntAndHalf) {
  const std::vector<Row> rows = {{"a", "1"}, {"b", "0.5"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k      v\n"
            "---  ---\n"
            "a    1\n"
            "b    0.5");
}

TEST(FormatSimple, DecimalMixed) {
  const std::vector<Row> rows = {{"a", "1.25"}, {"b", "10"}, {"c", "-3.5"}, {"d", "100.125"}};
  const Row headers = {"key", "value"};
  EXPECT_EQ(formatSimple(rows, headers),
            "key      value\n"
            "-----  -------\n"
            "a        1.25\n"
            "b       10\n"
            "c       -3.5\n"
            "d      100.125");
}

// Float formatting: 1e5 -> 100000, -0.0 -> -0; the last column is right-stripped.
TEST(FormatSimple, DecimalExponentAndRstrip) {
  const std::vector<Row> rows = {{"1e5"}, {"12.345"}, {"-0.0"}, {"0.0001"}};
  const Row headers = {"v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "          v\n"
            "-----------\n"
            "100000\n"
            "    12.345\n"
            "    -0\n"
            "     0.0001");
}

// "g" turns 1000000 into 1e+06; _afterpoint counts "+06" as 3 decimals.
TEST(FormatSimple, MillionBecomesExponent) {
  const std::vector<Row> rows = {{"x", "1000000"}, {"y", "0.5"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k        v\n"
            "---  -----\n"
            "x    1e+06\n"
            "y    0.5");
}

TEST(FormatSimple, FloatsAsIntegers) {
  const std::vector<Row> rows = {{"x", "2.0"}, {"y", "10"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k      v\n"
            "---  ---\n"
            "x      2\n"
            "y     10");
}

// Int columns keep the text: leading zeros, underscores, sign and even blanks.
TEST(FormatSimple, IntColumnKeepsText) {
  const std::vector<Row> rows = {{"a", "007"}, {"b", "1_000"}, {"c", "+5"}, {"d", " 2 "}};
  const Row headers = {"k", "n"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k        n\n"
            "---  -----\n"
            "a      007\n"
            "b    1_000\n"
            "c       +5\n"
            "d       2");
}

TEST(FormatSimple, NotNumbers) {
  const std::vector<Row> rows = {{"8Gi", "0.5Gi", "1,000", "0x10", "1e", "--1"},
                                 {"1", "2", "3", "4", "5", "6"}};
  const Row headers = {"a", "b", "c", "d", "e", "f"};
  EXPECT_EQ(formatSimple(rows, headers),
            "a    b      c      d     e    f\n"
            "---  -----  -----  ----  ---  ---\n"
            "8Gi  0.5Gi  1,000  0x10  1e   --1\n"
            "1    2      3      4     5    6");
}

// "1e400" overflows to inf, which _isnumber rejects (only "inf"/"-inf"/"nan" count).
TEST(FormatSimple, InfAndNan) {
  const std::vector<Row> rows = {
      {"inf", "inf"}, {"nan", "nan"}, {"-inf", "-inf"}, {"1e400", "2.5"}};
  const Row headers = {"text", "num"};
  EXPECT_EQ(formatSimple(rows, headers),
            "text       num\n"
            "------  ------\n"
            "inf      inf\n"
            "nan      nan\n"
            "-inf    -inf\n"
            "1e400      2.5");
}

// "True" is a bool, less generic than int: a True/1 column is numeric.
TEST(FormatSimple, BoolAndInt) {
  const std::vector<Row> rows = {{"x", "True", "True"}, {"y", "1", "False"}};
  const Row headers = {"k", "b", "c"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k       b  c\n"
            "---  ----  -----\n"
            "x    True  True\n"
            "y       1  False");
}

TEST(FormatSimple, NegativeAndSignedFloats) {
  const std::vector<Row> rows = {{"-1", "+1.5"}, {"20", "-0.25"}, {"3", "1E3"}};
  const Row headers = {"i", "f"};
  EXPECT_EQ(formatSimple(rows, headers),
            "  i        f\n"
            "---  -------\n"
            " -1     1.5\n"
            " 20    -0.25\n"
            "  3  1000");
}

// An empty string is text: the column becomes left-aligned.
TEST(FormatSimple, EmptyStringMakesColumnText) {
  const std::vector<Row> rows = {{"a", "1"}, {"b", ""}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k    v\n"
            "---  ---\n"
            "a    1\n"
            "b");
}

// A cell missing from a short row is None: the column stays numeric.
TEST(FormatSimple, MissingCellKeepsColumnNumeric) {
  const std::vector<Row> rows = {{"a", "1"}, {"b"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k      v\n"
            "---  ---\n"
            "a      1\n"
            "b");
}

TEST(FormatSimple, MissingCellInFloatColumn) {
  const std::vector<Row> rows = {{"a", "1.5"}, {"b"}, {"c", "10"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k       v\n"
            "---  ----\n"
            "a     1.5\n"
            "b\n"
            "c    10");
}

// No rows: header and rule only, each column header+2 wide.
TEST(FormatSimple, HeadersOnly) {
  const std::vector<Row> rows = {};
  const Row headers = {"Job name:", "Job type:", "Status:"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Job name:    Job type:    Status:\n"
            "-----------  -----------  ---------");
}

TEST(FormatSimple, EmptyCellsEverywhere) {
  const std::vector<Row> rows = {{"", ""}, {"x", ""}};
  const Row headers = {"a", "b"};
  EXPECT_EQ(formatSimple(rows, headers),
            "a    b\n"
            "---  ---\n"
            "\n"
            "x");
}

// Missing leading headers are blank.
TEST(FormatSimple, FewerHeadersThanColumns) {
  const std::vector<Row> rows = {{"1", "2"}, {"3"}};
  const Row headers = {"only"};
  EXPECT_EQ(formatSimple(rows, headers),
            "      only\n"
            "--  ------\n"
            " 1       2\n"
            " 3");
}

// Extra headers are dropped.
TEST(FormatSimple, MoreHeadersThanColumns) {
  const std::vector<Row> rows = {{"a", "b", "c"}};
  const Row headers = {"h1", "h2", "h3", "h4"};
  EXPECT_EQ(formatSimple(rows, headers),
            "h1    h2    h3\n"
            "----  ----  ----\n"
            "a     b     c");
}

TEST(FormatSimple, CellsAreStripped) {
  const std::vector<Row> rows = {{"  pad  ", "\tx "}, {"y", "z"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k    v\n"
            "---  ---\n"
            "pad  x\n"
            "y    z");
}

// Without headers "simple" draws rules above and below.
TEST(FormatSimple, NoHeaders) {
  const std::vector<Row> rows = {{"a", "1"}, {"bb", "22"}};
  const Row headers = {};
  EXPECT_EQ(formatSimple(rows, headers),
            "--  --\n"
            "a    1\n"
            "bb  22\n"
            "--  --");
}

TEST(FormatSimple, MultilineCells) {
  const std::vector<Row> rows = {{"job", "line one\nline two, longer"}, {"x", "y"}};
  const Row headers = {"Name", "Hints"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Name    Hints\n"
            "------  ----------------\n"
            "job     line one\n"
            "        line two, longer\n"
            "x       y");
}

TEST(FormatSimple, MultilineHeaderAndCrLf) {
  const std::vector<Row> rows = {{"x", "a\r\nb"}, {"y", "c"}};
  const Row headers = {"k", "v\nw"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k    v\n"
            "     w\n"
            "---  ---\n"
            "x    a\n"
            "     b\n"
            "y    c");
}

TEST(FormatSimple, MultilineNumericColumn) {
  const std::vector<Row> rows = {{"a\nb", "1"}, {"c", "22"}};
  const Row headers = {"k", "n"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k      n\n"
            "---  ---\n"
            "a      1\n"
            "b\n"
            "c     22");
}

// East Asian wide characters take two columns (wcwidth).
TEST(FormatSimple, WideCharacters) {
  const std::vector<Row> rows = {{"漢字", "x"}, {"b", "ＡＢ"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k     v\n"
            "----  ----\n"
            "漢字  x\n"
            "b     ＡＢ");
}

TEST(FormatSimple, CombiningMarks) {
  const std::vector<Row> rows = {{"été", "1"}, {"plain", "2"}};
  const Row headers = {"word", "n"};
  EXPECT_EQ(formatSimple(rows, headers),
            "word      n\n"
            "------  ---\n"
            "été       1\n"
            "plain     2");
}

// Colour codes take no width; a coloured float keeps its codes.
TEST(FormatSimple, AnsiColours) {
  const std::vector<Row> rows = {{"\033[31mFailed\033[0m", "\033[32m1.50\033[0m"},
                                 {"Running", "10"}};
  const Row headers = {"Status", "n"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Status       n\n"
            "--------  ----\n"
            "\033[31mFailed\033[0m     \033[32m1.5\033[0m\n"
            "Running   10");
}

// int()/float() accept any Unicode decimal digit; a float column re-renders them in ASCII.
TEST(FormatSimple, UnicodeDigitsAreNumbers) {
  const std::vector<Row> rows = {{"a", "٣", "٣.٥"}, {"b", "10", "1"}};
  const Row headers = {"k", "int", "float"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k      int    float\n"
            "---  -----  -------\n"
            "a        ٣      3.5\n"
            "b       10      1");
}

// Quirk: after a CRLF, tabulate pads a line holding wide characters by the widths of the
// wrong line (re.split vs splitlines), so the column grows.
TEST(FormatSimple, CrLfWithWideCharactersQuirk) {
  const std::vector<Row> rows = {{"a\r\nb漢字", "x"}, {"c\nd", "y"}};
  const Row headers = {"k", "v"};
  EXPECT_EQ(formatSimple(rows, headers),
            "k        v\n"
            "-------  ---\n"
            "a      x\n"
            "b漢字\n"
            "c      y\n"
            "d");
}

// OSC 8 hyperlinks count as their visible text.
TEST(FormatSimple, HyperlinkTakesTextWidth) {
  const std::vector<Row> rows = {{"\033]8;;https://example.org\033\\docs\033]8;;\033\\", "1"},
                                 {"plain", "2"}};
  const Row headers = {"Link", "n"};
  EXPECT_EQ(formatSimple(rows, headers),
            "Link      n\n"
            "------  ---\n"
            "\033]8;;https://example.org\033\\docs\033]8;;\033\\      1\n"
            "plain     2");
}

// `toolforge jobs show`: the Hints cell is wrapped to 70 columns, then laid out in a grid.
TEST(FormatGrid, SeedShowWithWrappedHints) {
  const std::string hints = wrapText(
      "Last run at 2021-06-30T10:26:08Z. Pod in 'Pending' phase. State 'waiting' for reason 'ContainerCreating'.",
      70);
  std::vector<Row> rows = {{"Job name:", "myscheduledjob"},
                           {"Command:", "./read-dumps.sh myargument"},
                           {"Job type:", "schedule: * * * * *"},
                           {"Image:", "bullseye"},
                           {"File log:", "yes"},
                           {"Output log:", "/data/project/tool-name/myscheduledjob.out"},
                           {"Error log:", "/data/project/tool-name/myscheduledjob.err"},
                           {"Emails:", "none"},
                           {"Resources:", "mem: 10Mi, cpu: 100"},
                           {"Mounts:", "all"},
                           {"Retry:", "no"},
                           {"Health check:", "none"},
                           {"Status:", "Last schedule time: 2021-06-30T10:26:00Z"}};
  rows.push_back({"Hints:", hints});
  EXPECT_EQ(formatGrid(rows),
            "+---------------+-----------------------------------------------------------------+\n"
            "| Job name:     | myscheduledjob                                                  |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Command:      | ./read-dumps.sh myargument                                      |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Job type:     | schedule: * * * * *                                             |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Image:        | bullseye                                                        |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| File log:     | yes                                                             |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Output log:   | /data/project/tool-name/myscheduledjob.out                      |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Error log:    | /data/project/tool-name/myscheduledjob.err                      |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Emails:       | none                                                            |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Resources:    | mem: 10Mi, cpu: 100                                             |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Mounts:       | all                                                             |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Retry:        | no                                                              |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Health check: | none                                                            |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Status:       | Last schedule time: 2021-06-30T10:26:00Z                        |\n"
            "+---------------+-----------------------------------------------------------------+\n"
            "| Hints:        | Last run at 2021-06-30T10:26:08Z. Pod in 'Pending' phase. State |\n"
            "|               | 'waiting' for reason 'ContainerCreating'.                       |\n"
            "+---------------+-----------------------------------------------------------------+");
}

TEST(FormatGrid, LongHintsThreeLines) {
  const std::vector<Row> rows = {
      {"Job name:", "x"},
      {"Hints:",
       "Last run at 2024-01-02T03:04:05Z. Pod in 'Failed' phase. Pod\nterminated with exit code 1 (reason: 'Error'). The command exited with\na non-zero status, see the logs at /data/project/tool-name/some-\nreally-long-job-name-for-testing-wrapping.err for details."}};
  EXPECT_EQ(
      formatGrid(rows),
      "+-----------+------------------------------------------------------------------------+\n"
      "| Job name: | x                                                                      |\n"
      "+-----------+------------------------------------------------------------------------+\n"
      "| Hints:    | Last run at 2024-01-02T03:04:05Z. Pod in 'Failed' phase. Pod           |\n"
      "|           | terminated with exit code 1 (reason: 'Error'). The command exited with |\n"
      "|           | a non-zero status, see the logs at /data/project/tool-name/some-       |\n"
      "|           | really-long-job-name-for-testing-wrapping.err for details.             |\n"
      "+-----------+------------------------------------------------------------------------+");
}

// Grid columns follow the same typing: an all-int column is right-aligned.
TEST(FormatGrid, NumericColumnRightAligned) {
  const std::vector<Row> rows = {{"Port:", "8000"}, {"Replicas:", "12"}};
  EXPECT_EQ(formatGrid(rows),
            "+-----------+------+\n"
            "| Port:     | 8000 |\n"
            "+-----------+------+\n"
            "| Replicas: |   12 |\n"
            "+-----------+------+");
}

// All-empty column: zero width, "|  |".
TEST(FormatGrid, EmptyCells) {
  const std::vector<Row> rows = {{"a", ""}, {"", ""}};
  EXPECT_EQ(formatGrid(rows),
            "+---+--+\n"
            "| a |  |\n"
            "+---+--+\n"
            "|   |  |\n"
            "+---+--+");
}

// Quirk: in multi-line mode a row of empty cells has no lines at all.
TEST(FormatGrid, MultilineRowOfEmptyCellsVanishes) {
  const std::vector<Row> rows = {{"a", "x\ny"}, {"", ""}, {"b", "c"}};
  EXPECT_EQ(formatGrid(rows),
            "+---+---+\n"
            "| a | x |\n"
            "|   | y |\n"
            "+---+---+\n"
            "+---+---+\n"
            "| b | c |\n"
            "+---+---+");
}

TEST(FormatGrid, MultilineShortCellPadded) {
  const std::vector<Row> rows = {{"Hints:", "one\ntwo\nthree"}, {"Status:", "ok"}};
  EXPECT_EQ(formatGrid(rows),
            "+---------+-------+\n"
            "| Hints:  | one   |\n"
            "|         | two   |\n"
            "|         | three |\n"
            "+---------+-------+\n"
            "| Status: | ok    |\n"
            "+---------+-------+");
}

TEST(FormatGrid, WideCharacters) {
  const std::vector<Row> rows = {{"名前:", "テスト"}, {"Name:", "test"}};
  EXPECT_EQ(formatGrid(rows),
            "+-------+--------+\n"
            "| 名前: | テスト |\n"
            "+-------+--------+\n"
            "| Name: | test   |\n"
            "+-------+--------+");
}

TEST(FormatGrid, NoRowsIsEmpty) { EXPECT_EQ(formatGrid({}), ""); }

TEST(WrapText, SeedHints) {
  EXPECT_EQ(
      wrapText(
          "Last run at 2021-06-30T10:26:08Z. Pod in 'Pending' phase. State 'waiting' for reason 'ContainerCreating'.",
          70),
      "Last run at 2021-06-30T10:26:08Z. Pod in 'Pending' phase. State\n"
      "'waiting' for reason 'ContainerCreating'.");
}

TEST(WrapText, ShortTextUnchanged) { EXPECT_EQ(wrapText("Running", 70), "Running"); }

TEST(WrapText, Empty) { EXPECT_EQ(wrapText("", 70), ""); }

TEST(WrapText, OnlyWhitespace) { EXPECT_EQ(wrapText("   \t  \n ", 70), ""); }

// break_long_words: the word fills the rest of the line.
TEST(WrapText, LongWordBroken) {
  EXPECT_EQ(wrapText("xxxxxxxxxxxxxxxxxxxxxxxxx tail", 10),
            "xxxxxxxxxx\n"
            "xxxxxxxxxx\n"
            "xxxxx tail");
}

TEST(WrapText, LongWordAfterText) {
  EXPECT_EQ(wrapText("ab yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 12),
            "ab yyyyyyyyy\n"
            "yyyyyyyyyyyy\n"
            "yyyyyyyyy");
}

// break_on_hyphens: lines may end after a hyphen between letters.
TEST(WrapText, Hyphenated) {
  EXPECT_EQ(wrapText("a well-known self-contained multi-part hyphen-separated phrase", 12),
            "a well-known\n"
            "self-\n"
            "contained\n"
            "multi-part\n"
            "hyphen-\n"
            "separated\n"
            "phrase");
}

TEST(WrapText, LongHyphenatedWord) {
  EXPECT_EQ(wrapText("supercalifragilistic-expialidocious-word", 15),
            "supercalifragil\n"
            "istic-\n"
            "expialidocious-\n"
            "word");
}

TEST(WrapText, HyphenNotBetweenLetters) {
  EXPECT_EQ(wrapText("pre-1990 x-ray 3-4 a-b-c --flag co-op", 6),
            "pre-\n"
            "1990\n"
            "x-ray\n"
            "3-4\n"
            "a-b-c\n"
            "--flag\n"
            "co-op");
}

// Runs of blanks inside a line stay as they are.
TEST(WrapText, MultipleSpacesKeptInsideLine) {
  EXPECT_EQ(wrapText("a  b   c    d", 70), "a  b   c    d");
}

TEST(WrapText, SpacesDroppedAtBreaks) {
  EXPECT_EQ(wrapText("alpha    beta    gamma    delta", 11),
            "alpha\n"
            "beta\n"
            "gamma\n"
            "delta");
}

TEST(WrapText, LeadingSpacesKeptOnFirstLine) {
  EXPECT_EQ(wrapText("   leading and trailing   ", 70), "   leading and trailing");
}

// Tabs expand to 8 columns; every ASCII whitespace becomes a space.
TEST(WrapText, TabsAndNewlines) {
  EXPECT_EQ(wrapText("tab\there\nnew line\r\nand\013vt\014ff", 70),
            "tab     here new line  and vt ff");
}

TEST(WrapText, EmDash) {
  EXPECT_EQ(wrapText("word--another--third and more--text", 10),
            "word--\n"
            "another--\n"
            "third and\n"
            "more--text");
}

TEST(WrapText, PathsAndUrls) {
  EXPECT_EQ(
      wrapText(
          "see https://wikitech.wikimedia.org/wiki/Help:Toolforge/Jobs_framework#Troubleshooting now",
          30),
      "see https://wikitech.wikimedia\n"
      ".org/wiki/Help:Toolforge/Jobs_\n"
      "framework#Troubleshooting now");
}

TEST(WrapText, WidthOne) {
  EXPECT_EQ(wrapText("ab c", 1),
            "a\n"
            "b\n"
            "c");
}

TEST(WrapText, ExactWidth) {
  EXPECT_EQ(wrapText("abcd efgh", 4),
            "abcd\n"
            "efgh");
}

// Lengths are code points (not bytes, not terminal columns).
TEST(WrapText, UnicodeCountsCodePoints) {
  EXPECT_EQ(wrapText("été à la plage, 漢字漢字 fin", 8),
            "été à la\n"
            "plage,\n"
            "漢字漢字 fin");
}

TEST(WrapText, NonBreakingSpaceIsNotABreak) {
  EXPECT_EQ(wrapText("a b c d", 3),
            "a b\n"
            "c d");
}

TEST(WrapText, ZeroWidthActsAsOne) { EXPECT_EQ(wrapText("ab c", 0), wrapText("ab c", 1)); }

TEST(DisplayWidth, CountsColumns) {
  EXPECT_EQ(displayWidth("abc"), 3u);
  EXPECT_EQ(displayWidth("\u6f22\u5b57"), 4u);
  EXPECT_EQ(displayWidth("e\u0301"), 1u);
  EXPECT_EQ(displayWidth(""), 0u);
}

TEST(FormatSimple, InvalidUtf8PassesThrough) {
  // Bytes that are not UTF-8 are kept as they are and count one column each.
  EXPECT_EQ(formatSimple({{"a\xff", "1"}}, {"k", "v"}), "k      v\n---  ---\na\xff     1");
}

}  // namespace
}  // namespace tjf::tabulate
