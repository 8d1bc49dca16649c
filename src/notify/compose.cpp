#include "notify/compose.hpp"

#include <string.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "base/strings.hpp"
#include "base/time_format.hpp"
#include "notify/stderr_tail.hpp"

namespace tjf::notify {
namespace {

constexpr std::string_view kIndent = "     ";

std::string signalText(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

std::string_view phaseOf(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kStarted:
    case NoticeKind::kRestarted: return "running";
    case NoticeKind::kSucceeded: return "succeeded";
    case NoticeKind::kSkipped: return "skipped";
    default: return "failed";
  }
}

// "<text>." without doubling a final full stop.
std::string sentence(std::string text) {
  if (text.empty() || text.back() != '.') text += '.';
  return text;
}

std::string headline(const Notice& n) {
  const std::string run = "Run '" + std::to_string(n.run_id) + "'";
  // The description may carry a long message from the runtime: keep one readable line.
  const std::string why = cleanLine(n.description);
  switch (n.kind) {
    case NoticeKind::kStarted: return run + " started.";
    case NoticeKind::kRestarted:
      return run + " started: " +
             (n.job_type == model::JobType::kContinuous ? "restart" : "retry") + " number " +
             std::to_string(n.attempt - 1) + ".";
    case NoticeKind::kSucceeded: return run + " completed.";
    case NoticeKind::kFailed: return sentence(run + " failed" + (why.empty() ? "" : ": " + why));
    case NoticeKind::kCouldNotStart:
      return sentence(run + " " + (why.empty() ? "could not start" : why));
    case NoticeKind::kSkipped: return sentence(run + " was " + (why.empty() ? "skipped" : why));
  }
  return run + ".";
}

}  // namespace

Status checkAddressTemplate(const AddressTemplate& t) {
  const std::string where = "mail_to_template '" + t.to_template + "'";
  if (t.to_template.find("{tool}") == std::string::npos) {
    return invalidArgument(where + " must contain {tool}");
  }
  std::string rest = t.to_template;
  for (const char* known : {"{tool}", "{prefix}", "{domain}"}) {
    for (auto at = rest.find(known); at != std::string::npos; at = rest.find(known)) {
      rest.replace(at, std::string_view(known).size(), "x");
    }
  }
  if (rest.find_first_of("{}") != std::string::npos) {
    return invalidArgument(where + " has an unknown placeholder; known: {tool}, {prefix}, {domain}");
  }
  const std::string sample = renderAddress(t, "tool");
  if (std::count(sample.begin(), sample.end(), '@') != 1 || sample.front() == '@' ||
      sample.back() == '@' || sample.find_first_of(" \t<>\r\n,;") != std::string::npos) {
    return invalidArgument(where + " does not make an address: '" + sample + "'");
  }
  return {};
}

std::string renderAddress(const AddressTemplate& t, std::string_view tool) {
  std::string out;
  const std::string& s = t.to_template;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    for (const auto& [key, value] : {std::pair<std::string_view, std::string_view>{"{tool}", tool},
                                     {"{prefix}", t.prefix},
                                     {"{domain}", t.domain}}) {
      if (s.compare(i, key.size(), key) == 0) {
        out += value;
        i += key.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

std::string bareAddress(std::string_view from) {
  const auto open = from.rfind('<');
  const auto close = from.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return std::string(trim(from.substr(open + 1, close - open - 1)));
  }
  return std::string(trim(from));
}

std::string subjectFor(std::string_view tool, const std::vector<std::string>& job_names) {
  std::string s = "[Toolforge] [" + std::string(tool) + "] notification about ";
  if (job_names.size() == 1) return s + "job " + job_names.front();
  return s + std::to_string(job_names.size()) + " jobs";
}

std::string_view mailJobType(model::JobType type) {
  switch (type) {
    case model::JobType::kOneOff: return "normal";
    case model::JobType::kScheduled: return "cronjob";
    case model::JobType::kContinuous: return "continuous";
  }
  return "normal";
}

std::string formatEvent(const Notice& n) {
  std::string out = "  -- " + headline(n) + "\n";
  std::string fields = "Phase: '" + std::string(phaseOf(n.kind)) + "'.";
  if (n.attempt > 1) fields += " Attempt " + std::to_string(n.attempt) + ".";
  if (n.job_type == model::JobType::kContinuous && n.replica > 0) {
    fields += " Replica " + std::to_string(n.replica) + ".";
  }
  if (n.started_at) fields += " Start timestamp " + formatIsoUtc(*n.started_at) + ".";
  if (n.finished_at) fields += " Finish timestamp " + formatIsoUtc(*n.finished_at) + ".";
  if (n.exit_code) fields += " Exit code was '" + std::to_string(*n.exit_code) + "'.";
  if (n.signal) fields += " Signal was '" + signalText(*n.signal) + "'.";
  if (n.reason != model::RunReason::kNone) {
    fields += " With reason '" + std::string(model::toString(n.reason)) + "'.";
  }
  out += std::string(kIndent) + fields + "\n";
  if (!n.stderr_source.empty()) {
    const std::string what = n.stderr_merged ? "output" : "stderr";
    if (n.stderr_tail.empty()) {
      out += std::string(kIndent) + "Nothing in its " + what + " (" + n.stderr_source + ").\n";
    } else {
      const auto count = n.stderr_tail.size();
      out += std::string(kIndent) + "Last " + (count == 1 ? "line" : std::to_string(count) + " lines") +
             " of its " + what + " (" + n.stderr_source + "):\n";
      for (const auto& line : n.stderr_tail) {
        out += std::string(kIndent) + "| " + line + "\n";
      }
    }
  }
  return out;
}

ComposedMail composeMail(std::string_view tool, const std::vector<Notice>& notices,
                         const ComposeOptions& options) {
  // Jobs in the order of their first event; events in their own order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Notice*>> by_job;
  for (const auto& n : notices) {
    auto& list = by_job[n.job_name];
    if (list.empty()) order.push_back(n.job_name);
    list.push_back(&n);
  }
  ComposedMail mail;
  mail.subject = subjectFor(tool, order);
  mail.jobs = order.size();
  mail.events = notices.size();
  std::string& b = mail.body;
  b = "We wanted to notify you about the activity of some jobs in the '" + std::string(tool) +
      "' Toolforge tool.\n";
  for (const auto& name : order) {
    const auto& events = by_job[name];
    const Notice& latest = *events.back();
    b += "\n* Job '" + name + "' (" + std::string(mailJobType(latest.job_type)) + ") (emails: " +
         std::string(model::toString(latest.emails)) + ") had " + std::to_string(events.size()) +
         " events:\n";
    std::size_t first_shown = 0;
    if (options.max_events_per_job > 0 && events.size() > options.max_events_per_job) {
      first_shown = events.size() - options.max_events_per_job;
      b += "  -- (" + std::to_string(first_shown) + " earlier events not shown: run "
           "'toolforge jobs show " + name + "' for the job's latest runs)\n";
    }
    for (std::size_t i = first_shown; i < events.size(); ++i) b += formatEvent(*events[i]);
  }
  b += "\n\n";
  b += "The lines above are the end of each run's stderr. If the job writes file logs, the\n"
       "whole output is in its log files in the tool's home; otherwise run\n"
       "'toolforge jobs logs <job>' to read it. 'toolforge jobs show <job>' shows the job's\n"
       "status.\n";
  b += "\n";
  b += "You are receiving this email because:\n";
  b += " 1) when the job was created, it was requested to send email notifications (--emails).\n";
  b += " 2) you are listed as a maintainer of this tool.\n";
  b += "\n";
  b += "Find help and more information in wikitech: https://wikitech.wikimedia.org/\n";
  b += "\n";
  b += "Thanks for your contributions to the Wikimedia movement.\n";
  return mail;
}

std::string formatMailDate(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string renderMessage(const MessageFields& f, std::string_view body) {
  std::string m;
  m += "From: " + f.from + "\r\n";
  m += "To: " + f.to + "\r\n";
  m += "Subject: " + f.subject + "\r\n";
  m += "Date: " + formatMailDate(f.date) + "\r\n";
  m += "Message-ID: <" + f.message_id + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  // RFC 3834: no auto-replies (vacation messages) to a machine's mail.
  m += "Auto-Submitted: auto-generated\r\n";
  m += "\r\n";
  for (std::size_t start = 0; start < body.size();) {
    auto nl = body.find('\n', start);
    if (nl == std::string_view::npos) nl = body.size();
    auto line = body.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    m += line;
    m += "\r\n";
    start = nl + 1;
  }
  return m;
}

}  // namespace tjf::notify
