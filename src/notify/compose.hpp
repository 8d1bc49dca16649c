// Composing a tool's batch of notices into one mail: upstream's subject lines and body layout
// (upstream-behaviour.md section 9), with what upstream leaves out (decisions.md, "Email"): the
// run id, the exit code (0 too) or signal, the reason, and the last lines of the run's stderr.
// Pure code: no I/O, no clock.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "notify/notice.hpp"

namespace tjf::notify {

// The recipient of a tool's mail: `to_template` with {tool}, {prefix} and {domain} replaced
// (default "{prefix}.{tool}@{domain}" = tools.<tool>@toolforge.org, as upstream).
struct AddressTemplate {
  std::string to_template = "{prefix}.{tool}@{domain}";
  std::string prefix = "tools";
  std::string domain = "toolforge.org";
};

// Checks a template once, at start-up: only known placeholders, {tool} present, and an address
// shape (one '@', no spaces or angle brackets).
Status checkAddressTemplate(const AddressTemplate& t);
std::string renderAddress(const AddressTemplate& t, std::string_view tool);

// The address inside "Name <addr@host>", or the trimmed string itself.
std::string bareAddress(std::string_view from);

struct ComposeOptions {
  // A job's events beyond this many are counted, not shown (the newest ones are shown).
  std::size_t max_events_per_job = 10;
};

struct ComposedMail {
  std::string subject;
  std::string body;  // LF line ends
  std::size_t jobs = 0;
  std::size_t events = 0;
};

// `[Toolforge] [<tool>] notification about job <name>` for one job,
// `[Toolforge] [<tool>] notification about <N> jobs` for more.
std::string subjectFor(std::string_view tool, const std::vector<std::string>& job_names);

// Upstream's job type names in mails: normal, cronjob, continuous.
std::string_view mailJobType(model::JobType type);

// The lines about one event (each starting with two spaces), ending with its stderr tail.
std::string formatEvent(const Notice& notice);

// One mail for all of a tool's notices (oldest first): jobs in the order of their first event.
ComposedMail composeMail(std::string_view tool, const std::vector<Notice>& notices,
                         const ComposeOptions& options = {});

// "Mon, 20 Jul 2026 10:00:00 +0000" (RFC 5322, UTC).
std::string formatMailDate(TimePoint t);

struct MessageFields {
  std::string from;  // the From header as configured ("Name <addr>" or "addr")
  std::string to;
  std::string subject;
  std::string message_id;  // without angle brackets
  TimePoint date{};
};

// The whole message: headers (UTF-8 plain text, Auto-Submitted) and the body, CRLF line ends.
std::string renderMessage(const MessageFields& fields, std::string_view body);

}  // namespace tjf::notify
