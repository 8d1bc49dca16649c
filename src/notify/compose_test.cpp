#include "notify/compose.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/time_format.hpp"

namespace tjf::notify {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Notice failed(const std::string& job, std::int64_t run_id, int exit_code) {
  Notice n;
  n.event_id = run_id * 10;
  n.tool = "tf-test";
  n.job_name = job;
  n.job_type = model::JobType::kOneOff;
  n.emails = model::EmailPolicy::kOnFailure;
  n.kind = NoticeKind::kFailed;
  n.run_id = run_id;
  n.reason = model::RunReason::kError;
  n.exit_code = exit_code;
  n.description = "exit code " + std::to_string(exit_code);
  n.started_at = *parseIsoUtc("2026-07-20T10:00:00Z");
  n.finished_at = *parseIsoUtc("2026-07-20T10:00:03Z");
  return n;
}

TEST(AddressTest, TemplateDefaultsToUpstreamsAddress) {
  EXPECT_EQ(renderAddress({}, "mytool"), "tools.mytool@toolforge.org");
  EXPECT_EQ(renderAddress({.to_template = "{tool}-maint@{domain}", .domain = "lists.example"},
                          "x"),
            "x-maint@lists.example");
  EXPECT_TRUE(checkAddressTemplate({}));
  EXPECT_FALSE(checkAddressTemplate({.to_template = "admin@example.org"}));  // no {tool}
  EXPECT_FALSE(checkAddressTemplate({.to_template = "{tool}@{host}"}));     // unknown
  EXPECT_FALSE(checkAddressTemplate({.to_template = "{tool}"}));            // no '@'
  EXPECT_FALSE(checkAddressTemplate({.to_template = "a b.{tool}@x"}));      // a space
}

TEST(AddressTest, BareAddressOfAFromHeader) {
  EXPECT_EQ(bareAddress("Toolforge <noreply@toolforge.org>"), "noreply@toolforge.org");
  EXPECT_EQ(bareAddress(" noreply@toolforge.org "), "noreply@toolforge.org");
}

TEST(SubjectTest, UpstreamSubjectLines) {
  EXPECT_EQ(subjectFor("tf-test", {"backup"}),
            "[Toolforge] [tf-test] notification about job backup");
  EXPECT_EQ(subjectFor("tf-test", {"a", "b", "c"}),
            "[Toolforge] [tf-test] notification about 3 jobs");
}

TEST(ComposeTest, OneMailPerToolGroupsEventsByJobInOrderOfFirstEvent) {
  std::vector<Notice> notices = {failed("b", 1, 1), failed("a", 2, 2), failed("b", 3, 3)};
  const auto mail = composeMail("tf-test", notices);
  EXPECT_EQ(mail.subject, "[Toolforge] [tf-test] notification about 2 jobs");
  EXPECT_EQ(mail.jobs, 2u);
  EXPECT_EQ(mail.events, 3u);
  const auto& b = mail.body;
  EXPECT_EQ(b.rfind("We wanted to notify you about the activity of some jobs in the 'tf-test' "
                    "Toolforge tool.\n", 0),
            0u);
  const auto job_b = b.find("* Job 'b' (normal) (emails: onfailure) had 2 events:\n");
  const auto job_a = b.find("* Job 'a' (normal) (emails: onfailure) had 1 events:\n");
  ASSERT_NE(job_b, std::string::npos) << b;
  ASSERT_NE(job_a, std::string::npos) << b;
  EXPECT_LT(job_b, job_a);
  const auto run1 = b.find("Run '1' failed: exit code 1.");
  const auto run3 = b.find("Run '3' failed: exit code 3.");
  EXPECT_LT(job_b, run1);
  EXPECT_LT(run1, run3);
  EXPECT_LT(run3, job_a);
  EXPECT_THAT(b, HasSubstr("you are listed as a maintainer of this tool"));
}

TEST(ComposeTest, EventNamesRunExitCodeReasonTimesAndStderrTail) {
  Notice n = failed("backup", 17, 3);
  n.job_type = model::JobType::kScheduled;
  n.stderr_source = "backup.err";
  n.stderr_tail = {"Traceback (most recent call last):", "RuntimeError: disk full"};
  EXPECT_EQ(formatEvent(n),
            "  -- Run '17' failed: exit code 3.\n"
            "     Phase: 'failed'. Start timestamp 2026-07-20T10:00:00Z. Finish timestamp "
            "2026-07-20T10:00:03Z. Exit code was '3'. With reason 'Error'.\n"
            "     Last 2 lines of its stderr (backup.err):\n"
            "     | Traceback (most recent call last):\n"
            "     | RuntimeError: disk full\n");
  EXPECT_THAT(composeMail("t", {n}).body, HasSubstr("* Job 'backup' (cronjob) (emails: onfailure)"));
}

TEST(ComposeTest, SignalsReasonsAndKindsEachSayWhatHappened) {
  Notice oom = failed("web", 5, 0);
  oom.exit_code.reset();
  oom.signal = 9;
  oom.reason = model::RunReason::kOomKilled;
  oom.description = "killed for exceeding its memory limit (OOMKilled)";
  oom.job_type = model::JobType::kContinuous;
  const auto text = formatEvent(oom);
  EXPECT_THAT(text, HasSubstr("Run '5' failed: killed for exceeding its memory limit (OOMKilled)."));
  EXPECT_THAT(text, HasSubstr("Signal was '9 (SIGKILL)'."));
  EXPECT_THAT(text, HasSubstr("With reason 'OOMKilled'."));
  EXPECT_THAT(text, Not(HasSubstr("Exit code")));

  Notice timeout = failed("slow", 6, 0);
  timeout.exit_code.reset();
  timeout.signal = 15;
  timeout.reason = model::RunReason::kTimeout;
  timeout.description = "stopped at its timeout: the run exceeded its timeout of 5s.";
  EXPECT_THAT(formatEvent(timeout),
              HasSubstr("Run '6' failed: stopped at its timeout: the run exceeded its timeout of "
                        "5s.\n"));  // no doubled full stop
  EXPECT_THAT(formatEvent(timeout), HasSubstr("With reason 'DeadlineExceeded'."));

  Notice start_error = failed("x", 7, 0);
  start_error.exit_code.reset();
  start_error.kind = NoticeKind::kCouldNotStart;
  start_error.reason = model::RunReason::kStartError;
  start_error.description = "could not start: cannot open 'logs/x.err'";
  EXPECT_THAT(formatEvent(start_error),
              HasSubstr("Run '7' could not start: cannot open 'logs/x.err'.\n"));

  Notice ok = failed("x", 8, 0);
  ok.kind = NoticeKind::kSucceeded;
  ok.reason = model::RunReason::kCompleted;
  EXPECT_THAT(formatEvent(ok), HasSubstr("Run '8' completed.\n"));
  EXPECT_THAT(formatEvent(ok), HasSubstr("Phase: 'succeeded'."));
  EXPECT_THAT(formatEvent(ok), HasSubstr("Exit code was '0'."));  // upstream hides 0

  Notice restart;
  restart.kind = NoticeKind::kRestarted;
  restart.job_type = model::JobType::kContinuous;
  restart.run_id = 9;
  restart.attempt = 3;
  EXPECT_THAT(formatEvent(restart), HasSubstr("Run '9' started: restart number 2.\n"));
  restart.job_type = model::JobType::kOneOff;
  EXPECT_THAT(formatEvent(restart), HasSubstr("Run '9' started: retry number 2.\n"));
  restart.kind = NoticeKind::kStarted;
  restart.attempt = 1;
  EXPECT_THAT(formatEvent(restart), HasSubstr("Run '9' started.\n     Phase: 'running'."));

  Notice skipped = failed("cron", 10, 0);
  skipped.exit_code.reset();
  skipped.kind = NoticeKind::kSkipped;
  skipped.description = "skipped: the previous run was still running";
  EXPECT_THAT(formatEvent(skipped),
              HasSubstr("Run '10' was skipped: the previous run was still running.\n"));
}

TEST(ComposeTest, EmptyAndMergedLogsAreSaidSo) {
  Notice n = failed("a", 1, 1);
  n.stderr_source = "a.err";
  EXPECT_THAT(formatEvent(n), HasSubstr("Nothing in its stderr (a.err).\n"));
  n.stderr_source = "both.log";
  n.stderr_merged = true;
  n.stderr_tail = {"x"};
  EXPECT_THAT(formatEvent(n), HasSubstr("Last line of its output (both.log):\n     | x\n"));
}

TEST(ComposeTest, ManyEventsOfOneJobShowTheNewest) {
  std::vector<Notice> notices;
  for (int i = 1; i <= 13; ++i) notices.push_back(failed("loop", i, i));
  const auto mail = composeMail("t", notices, {.max_events_per_job = 10});
  EXPECT_THAT(mail.body, HasSubstr("had 13 events:\n  -- (3 earlier events not shown"));
  EXPECT_THAT(mail.body, Not(HasSubstr("Run '3' failed")));
  EXPECT_THAT(mail.body, HasSubstr("Run '4' failed"));
  EXPECT_THAT(mail.body, HasSubstr("Run '13' failed"));
}

TEST(MessageTest, HeadersAndCrlfBody) {
  const auto message = renderMessage({.from = "Toolforge <noreply@toolforge.org>",
                                      .to = "tools.t@toolforge.org",
                                      .subject = "[Toolforge] [t] notification about job j",
                                      .message_id = "tjf.t.1.2@toolforge.org",
                                      .date = *parseIsoUtc("2026-07-20T10:00:00Z")},
                                     "line one\nline two\n");
  EXPECT_EQ(message,
            "From: Toolforge <noreply@toolforge.org>\r\n"
            "To: tools.t@toolforge.org\r\n"
            "Subject: [Toolforge] [t] notification about job j\r\n"
            "Date: Mon, 20 Jul 2026 10:00:00 +0000\r\n"
            "Message-ID: <tjf.t.1.2@toolforge.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "\r\n"
            "line one\r\n"
            "line two\r\n");
}

}  // namespace
}  // namespace tjf::notify
