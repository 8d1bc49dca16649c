// The parser mirrors upstream's CronExpression.parse check by check (same order, same messages),
// with the extensions of decisions.md: steps on ranges, month names, weekday names and 7 in ranges.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cron/schedule.hpp"
#include "cron/zone.hpp"

namespace tjf::cron {

namespace {

enum FieldIndex { kMinute = 0, kHour, kDayOfMonth, kMonth, kDayOfWeek };

struct FieldSpec {
  int min;
  int max;
};
constexpr std::array<FieldSpec, 5> kFields{{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}};

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::string_view kMacroList = "@hourly, @daily, @weekly, @monthly, @yearly";

// Large enough to be out of every field's range, small enough for int arithmetic.
constexpr std::int64_t kSaturated = 1'000'000'000;

// A field-level failure: upstream prefixes it with the field's text.
struct FieldError {
  std::string message;
};

std::string quoted(std::string_view s) {
  // Appending (not operator+ on a temporary) dodges a GCC 12 -Wrestrict false positive.
  std::string out;
  out.reserve(s.size() + 2);
  out.append(1, '\'').append(s).append(1, '\'');
  return out;
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Python's int() of ASCII digits; saturates (Python ints do not overflow, but anything this big is
// out of range anyway).
std::int64_t digitsValue(std::string_view s) {
  std::int64_t v = 0;
  for (char c : s) v = std::min<std::int64_t>(v * 10 + (c - '0'), kSaturated);
  return v;
}

// How Python prints int(s): leading zeros dropped. Kept exact even for huge numbers.
std::string intText(std::string_view digits) {
  const auto nz = digits.find_first_not_of('0');
  return nz == std::string_view::npos ? "0" : std::string(digits.substr(nz));
}

// A range end or single value: its number and how messages show it.
struct Token {
  std::int64_t value;
  std::string shown;  // the integer as Python prints it, or the name as typed
  bool is_name;
};

std::optional<Token> readToken(int field, std::string_view s) {
  if (isDigits(s)) return Token{digitsValue(s), intText(s), false};
  if (field == kMonth) {
    for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
      if (s == kMonthNames[i]) return Token{static_cast<std::int64_t>(i + 1), std::string(s), true};
    }
  }
  if (field == kDayOfWeek) {
    for (std::size_t i = 0; i < kDayNames.size(); ++i) {
      if (s == kDayNames[i]) return Token{static_cast<std::int64_t>(i), std::string(s), true};
    }
  }
  return std::nullopt;
}

std::uint64_t bitsOf(std::int64_t from, std::int64_t to, std::int64_t step) {
  std::uint64_t bits = 0;
  for (std::int64_t v = from; v <= to; v += step) bits |= std::uint64_t{1} << v;
  return bits;
}

struct FieldBits {
  std::uint64_t bits = 0;
  bool star = false;  // has a bare `*` (or `*/1`) entry
};

// One comma-separated entry: `*`, `N`, `a-b`, `*/s`, `N/s` or `a-b/s`.
tl::expected<FieldBits, FieldError> parseEntry(int field, std::string_view entry) {
  const FieldSpec spec = kFields[static_cast<std::size_t>(field)];
  const bool dow = field == kDayOfWeek;
  std::string_view base = entry;
  std::optional<std::string_view> step;
  if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
    base = entry.substr(0, slash);
    step = entry.substr(slash + 1);
  }

  std::int64_t from = spec.min;
  std::int64_t to = spec.max;
  bool star = false;
  // Upstream names the entry in step messages after mapping a weekday name or 7 to its digit.
  std::string stepContext(base);
  if (const auto dash = base.find('-'); dash != std::string_view::npos) {
    const std::string_view startText = base.substr(0, dash);
    const std::string_view endText = base.substr(dash + 1);
    const auto start = readToken(field, startText);
    if (!start) return tl::unexpected(FieldError{"Unable to parse " + quoted(startText) + " as an integer"});
    auto end = readToken(field, endText);
    if (!end) return tl::unexpected(FieldError{"Unable to parse " + quoted(endText) + " as an integer"});
    // `fri-sun` means Friday to Sunday: a range ending on `sun` ends on 7 (but `sun-sun` is Sunday).
    if (dow && end->is_name && end->value == 0 && start->value > 0) end->value = 7;
    // Upstream's wording is inverted; kept as is.
    if (start->value > end->value) {
      return tl::unexpected(
          FieldError{"End value " + end->shown + " must be smaller than start value " + start->shown});
    }
    if (start->value < spec.min) {
      return tl::unexpected(
          FieldError{"Start value " + start->shown + " must be at least " + std::to_string(spec.min)});
    }
    // 7 is Sunday in weekday ranges (`5-7`), so a range may end on 7.
    const int rangeMax = dow ? 7 : spec.max;
    if (end->value > rangeMax) {
      return tl::unexpected(
          FieldError{"End value " + end->shown + " must be at most " + std::to_string(rangeMax)});
    }
    from = start->value;
    to = end->value;
  } else if (base == "*") {
    star = true;
  } else {
    const auto single = readToken(field, base);
    if (!single) return tl::unexpected(FieldError{"Unable to parse " + quoted(base) + " as an integer"});
    std::int64_t value = single->value;
    if (dow && value == 7) value = 0;
    if (value < spec.min || value > spec.max) {
      return tl::unexpected(FieldError{"Invalid value " + quoted(base) + ", expected " +
                                       std::to_string(spec.min) + "-" + std::to_string(spec.max)});
    }
    if (dow && (single->is_name || base == "7")) stepContext = std::to_string(value);
    from = value;
    // `N/s` means N, N+s, ... up to the field's maximum; a plain `N` is just N.
    to = step ? spec.max : value;
  }

  std::int64_t stepValue = 1;
  if (step) {
    // Upstream lets an empty step (`*/`) through unchecked, and Kubernetes then refuses it; we
    // refuse it here with the message a bad step gets.
    if (!isDigits(*step)) {
      return tl::unexpected(FieldError{"Unable to parse " + quoted(*step) + " (from " + quoted(stepContext) +
                                       ") as an integer"});
    }
    stepValue = digitsValue(*step);
    if (stepValue == 0 || stepValue < spec.min || stepValue > spec.max) {
      return tl::unexpected(FieldError{"Invalid step value in " + quoted(stepContext)});
    }
    if (star && stepValue != 1) star = false;
  }

  std::uint64_t bits = bitsOf(from, to, stepValue);
  if (dow && (bits & (std::uint64_t{1} << 7)) != 0) bits = (bits & ~(std::uint64_t{1} << 7)) | 1U;
  return FieldBits{bits, star};
}

tl::expected<FieldBits, FieldError> parseField(int field, std::string_view value) {
  FieldBits out;
  std::size_t pos = 0;
  while (true) {
    const auto comma = value.find(',', pos);
    const std::string_view entry =
        value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    auto parsed = parseEntry(field, entry);
    if (!parsed) return parsed;
    out.bits |= parsed->bits;
    out.star = out.star || parsed->star;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

tl::unexpected<Error> cronError(std::string_view text, std::string_view subject, std::string_view inner) {
  std::string message = "Unable to parse cron expression \"";
  message.append(text).append("\" (Unable to parse cron expression \"");
  message.append(subject).append("\": ").append(inner).append(")");
  return invalidArgument(std::move(message));
}

std::vector<std::string> splitOnSpaces(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto space = s.find(' ', pos);
    const auto end = space == std::string::npos ? s.size() : space;
    if (end > pos) parts.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Status validateTimeZone(std::string_view time_zone) {
  auto zone = resolveZone(time_zone);
  if (!zone) return tl::unexpected(zone.error());
  return {};
}

Result<Schedule> parseSchedule(std::string_view text, std::string_view tool, std::string_view job,
                               std::string_view time_zone) {
  Schedule s;
  s.text = std::string(text);
  std::vector<std::string> parts;
  if (!text.empty() && text.front() == '@') {
    s.effective = spreadMacro(text, tool, job);
    if (s.effective.empty()) {
      return cronError(
          text, text,
          "Invalid at-macro '" + std::string(text) + "', supported macros are: " + std::string(kMacroList));
    }
    s.is_macro = true;
    parts = splitOnSpaces(s.effective);
  } else {
    parts = splitOnSpaces(asciiLower(text));
    if (parts.size() != 5) {
      return cronError(text, text,
                       "Expected to find 5 space-separated values, found " + std::to_string(parts.size()));
    }
    s.effective = parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) s.effective.append(" ").append(parts[i]);
  }

  std::array<FieldBits, 5> fields;
  for (int i = 0; i < 5; ++i) {
    auto field = parseField(i, parts[static_cast<std::size_t>(i)]);
    if (!field) return cronError(text, parts[static_cast<std::size_t>(i)], field.error().message);
    fields[static_cast<std::size_t>(i)] = *field;
  }
  s.minutes = fields[kMinute].bits;
  s.hours = static_cast<std::uint32_t>(fields[kHour].bits);
  s.days_of_month = static_cast<std::uint32_t>(fields[kDayOfMonth].bits);
  s.months = static_cast<std::uint16_t>(fields[kMonth].bits);
  s.days_of_week = static_cast<std::uint8_t>(fields[kDayOfWeek].bits);
  s.dom_restricted = !fields[kDayOfMonth].star;
  s.dow_restricted = !fields[kDayOfWeek].star;

  const std::string_view zoneName = time_zone.empty() ? kDefaultTimeZone : time_zone;
  auto zone = resolveZone(zoneName);
  if (!zone) return tl::unexpected(zone.error());
  s.zone = *zone;
  s.time_zone = std::string(zoneName);
  return s;
}

}  // namespace tjf::cron
