// A transcription of python-tabulate 0.8.9's tabulate() for the "simple" and "grid" formats,
// and of Python 3.11's textwrap.fill(). The structure follows the Python code step by step on
// purpose: the output must match byte for byte, including tabulate's odd corners (see the
// comments marked "quirk"), and staying close to the original is the easiest way to keep it so.
// Everything works on UTF-32 strings because Python counts, slices and matches code points.
#include "tabulate/table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>

#include "tabulate/unicode.hpp"

namespace tjf::tabulate {
namespace {

using detail::charWidth;
using detail::decodeUtf8;
using detail::encodeUtf8;
using Text = std::u32string;

constexpr char32_t kEsc = U'\x1b';
constexpr std::size_t kMinPadding = 2;  // tabulate's MIN_PADDING: headers get 2 extra columns
constexpr std::size_t kTabSize = 8;     // textwrap's default tabsize

// ---------------------------------------------------------------------------------------------
// Python string primitives

// str.isspace(): the code points Python strips with str.strip() and that int()/float() ignore
// around a number.
bool isPySpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Line boundaries of str.splitlines() (more than the "\r" and "\n" tabulate's regexes use).
bool isPyLineBreak(char32_t c) {
  return c == U'\n' || c == U'\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
         c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
}

// Python's \d and the digits int()/float() accept: any Unicode decimal digit.
bool isDigit(char32_t c) { return detail::decimalDigitValue(c) >= 0; }

Text pyStrip(const Text& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && isPySpace(s[b])) ++b;
  while (e > b && isPySpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

Text pyRstrip(Text s) {
  while (!s.empty() && isPySpace(s.back())) s.pop_back();
  return s;
}

bool isAllPySpace(const Text& s) { return std::all_of(s.begin(), s.end(), isPySpace); }

// str.splitlines(): "" -> [], "a\n" -> ["a"], "\r\n" is one break.
std::vector<Text> pySplitlines(const Text& s) {
  std::vector<Text> lines;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    while (i < s.size() && !isPyLineBreak(s[i])) ++i;
    const std::size_t eol = i;
    if (i < s.size()) {
      i += (s[i] == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') ? 2 : 1;
    }
    lines.push_back(s.substr(start, eol - start));
  }
  return lines;
}

// re.split("[\r\n]", s): every single CR or LF is a separator, so "\r\n" yields an empty part.
std::vector<Text> splitCrLf(const Text& s) {
  std::vector<Text> parts(1);
  for (const char32_t c : s) {
    if (c == U'\r' || c == U'\n') {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

Text spaces(std::size_t n) { return Text(n, U' '); }

Text join(const std::vector<Text>& parts, const Text& sep) {
  Text out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += sep;
    out += parts[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Invisible terminal codes (tabulate's _invisible_codes and _invisible_codes_link)

// Length of an _invisible_codes match at pos, 0 if none:
//   \x1b\[\d+[;\d]*m | \x1b\[\d*\;\d*\;\d*m | \x1b\]8;;(.*?)\x1b\\  (Python regex)
std::size_t matchInvisibleCode(const Text& s, std::size_t pos) {
  const std::size_t n = s.size();
  if (pos + 1 >= n || s[pos] != kEsc) return 0;
  if (s[pos + 1] == U'[') {
    const std::size_t body = pos + 2;
    // First alternative: a digit, then any run of digits and semicolons, then 'm'.
    if (body < n && isDigit(s[body])) {
      std::size_t i = body;
      while (i < n && (isDigit(s[i]) || s[i] == U';')) ++i;
      if (i < n && s[i] == U'm') return i + 1 - pos;
    }
    // Second alternative: exactly three digit groups separated by two semicolons.
    std::size_t i = body;
    for (int group = 0; group < 3; ++group) {
      while (i < n && isDigit(s[i])) ++i;
      const char32_t want = group < 2 ? U';' : U'm';
      if (i >= n || s[i] != want) return 0;
      ++i;
    }
    return i - pos;
  }
  // Third alternative: an OSC 8 hyperlink opener or closer, lazily up to the first ESC '\'
  // ('.' does not match a newline).
  static const Text kOsc8 = U"\x1b]8;;";
  if (s.compare(pos, kOsc8.size(), kOsc8) != 0) return 0;
  for (std::size_t i = pos + kOsc8.size(); i + 1 < n; ++i) {
    if (s[i] == U'\n') return 0;
    if (s[i] == kEsc && s[i + 1] == U'\\') return i + 2 - pos;
  }
  return 0;
}

bool isLinkIdChar(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9') ||
         c == U':';
}

// An _invisible_codes_link match at pos:
//   \x1B]8;[a-zA-Z0-9:]*;[^\x1B]+\x1B\\([^\x1b]+)\x1B]8;;\x1B\\  (Python regex)
// Returns the match length (0 if none) and the visible text's bounds.
std::size_t matchLink(const Text& s, std::size_t pos, std::size_t& textBegin,
                      std::size_t& textEnd) {
  const std::size_t n = s.size();
  static const Text kOpen = U"\x1b]8;";
  static const Text kClose = U"\x1b]8;;\x1b\\";
  if (s.compare(pos, kOpen.size(), kOpen) != 0) return 0;
  std::size_t i = pos + kOpen.size();
  while (i < n && isLinkIdChar(s[i])) ++i;
  if (i >= n || s[i] != U';') return 0;
  const std::size_t uriBegin = ++i;
  while (i < n && s[i] != kEsc) ++i;
  if (i == uriBegin || i + 1 >= n || s[i + 1] != U'\\') return 0;
  i += 2;
  textBegin = i;
  while (i < n && s[i] != kEsc) ++i;
  if (i == textBegin) return 0;
  textEnd = i;
  if (s.compare(i, kClose.size(), kClose) != 0) return 0;
  return i + kClose.size() - pos;
}

bool containsInvisible(const Text& s) {
  std::size_t b = 0;
  std::size_t e = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == kEsc && (matchInvisibleCode(s, i) != 0 || matchLink(s, i, b, e) != 0)) {
      return true;
    }
  }
  return false;
}

// _strip_invisible: hyperlinks are replaced by their text first, then colour codes removed.
Text stripInvisible(const Text& s) {
  Text linksRemoved;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t b = 0;
    std::size_t e = 0;
    if (const std::size_t len = matchLink(s, i, b, e); len != 0) {
      linksRemoved.append(s, b, e - b);
      i += len;
    } else {
      linksRemoved.push_back(s[i++]);
    }
  }
  Text out;
  for (std::size_t i = 0; i < linksRemoved.size();) {
    if (const std::size_t len = matchInvisibleCode(linksRemoved, i); len != 0) {
      i += len;
    } else {
      out.push_back(linksRemoved[i++]);
    }
  }
  return out;
}

std::size_t textWidth(const Text& s) {
  std::size_t w = 0;
  for (const char32_t c : s) w += charWidth(c);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Python int() and float() on strings, as tabulate's _isint/_isnumber call them

// Digits with single underscores between them ("1_000"), as int() and float() accept.
std::size_t scanDigitPart(const Text& s, std::size_t i, std::string& digits) {
  if (i >= s.size() || !isDigit(s[i])) return i;
  digits.push_back(static_cast<char>('0' + detail::decimalDigitValue(s[i++])));
  while (i < s.size()) {
    if (isDigit(s[i])) {
      digits.push_back(static_cast<char>('0' + detail::decimalDigitValue(s[i++])));
    } else if (s[i] == U'_' && i + 1 < s.size() && isDigit(s[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

bool pyIsInt(const Text& raw) {
  const Text s = pyStrip(raw);
  std::size_t i = 0;
  if (i < s.size() && (s[i] == U'+' || s[i] == U'-')) ++i;
  std::string digits;
  const std::size_t end = scanDigitPart(s, i, digits);
  return !digits.empty() && end == s.size();
}

bool equalsIgnoreCase(const Text& s, std::size_t pos, std::string_view word) {
  if (s.size() - pos != word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    char32_t c = s[pos + k];
    if (c >= U'A' && c <= U'Z') c += U'a' - U'A';
    if (c != static_cast<char32_t>(word[k])) return false;
  }
  return true;
}

// float(s): nullopt where Python raises ValueError. Decimal values that overflow become
// +-inf and ones that underflow become 0, as in Python.
std::optional<double> pyFloat(const Text& raw) {
  const Text s = pyStrip(raw);
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == U'+' || s[i] == U'-')) negative = s[i++] == U'-';
  const double sign = negative ? -1.0 : 1.0;
  if (equalsIgnoreCase(s, i, "inf") || equalsIgnoreCase(s, i, "infinity")) {
    return sign * std::numeric_limits<double>::infinity();
  }
  if (equalsIgnoreCase(s, i, "nan")) return std::numeric_limits<double>::quiet_NaN();

  std::string intDigits;
  std::string fracDigits;
  std::string expDigits;
  i = scanDigitPart(s, i, intDigits);
  if (i < s.size() && s[i] == U'.') i = scanDigitPart(s, i + 1, fracDigits);
  if (intDigits.empty() && fracDigits.empty()) return std::nullopt;
  bool expNegative = false;
  if (i < s.size() && (s[i] == U'e' || s[i] == U'E')) {
    ++i;
    if (i < s.size() && (s[i] == U'+' || s[i] == U'-')) expNegative = s[i++] == U'-';
    i = scanDigitPart(s, i, expDigits);
    if (expDigits.empty()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;

  std::string ascii = (intDigits.empty() ? "0" : intDigits) + "." + fracDigits;
  if (!expDigits.empty()) ascii += (expNegative ? "e-" : "e") + expDigits;
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(ascii.data(), ascii.data() + ascii.size(), value);
  if (ec == std::errc::result_out_of_range) {
    // Decide overflow vs underflow from the decimal exponent of the first significant digit.
    const std::string all = intDigits + fracDigits;
    const std::size_t firstSig = all.find_first_not_of('0');
    long long exponent = 0;
    for (const char d : expDigits) exponent = std::min(exponent * 10 + (d - '0'), 1000000LL);
    if (expNegative) exponent = -exponent;
    const long long magnitude =
        exponent + static_cast<long long>(intDigits.size()) - static_cast<long long>(firstSig) - 1;
    value = magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (ec != std::errc{}) {
    return std::nullopt;
  }
  return sign * value;
}

// _isnumber: float() works, and an infinite or NaN result only counts when spelled exactly
// "inf", "-inf" or "nan" (any case) - so "1e999" and "+inf" are text.
bool pyIsNumber(const Text& s) {
  const std::optional<double> v = pyFloat(s);
  if (!v) return false;
  if (std::isinf(*v) || std::isnan(*v)) {
    return equalsIgnoreCase(s, 0, "inf") || equalsIgnoreCase(s, 0, "-inf") ||
           equalsIgnoreCase(s, 0, "nan");
  }
  return true;
}

// format(x, "g"): C's %g in the "C" locale, which std::to_chars guarantees.
Text formatGeneral(double v) {
  if (std::isnan(v)) return U"nan";
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return Text(buf, ptr);
}

// ---------------------------------------------------------------------------------------------
// tabulate's column typing, formatting and alignment

// The order is tabulate's genericity order (_more_generic); bytes (4) cannot occur here.
enum class ColType { kNone = 0, kBool = 1, kInt = 2, kFloat = 3, kText = 5 };

using Cell = std::optional<Text>;  // nullopt = a cell missing from a short row (Python None)

ColType cellType(const Cell& cell) {
  if (!cell) return ColType::kNone;
  const Text s = stripInvisible(*cell);  // _column_type always strips invisible codes
  if (s == U"True" || s == U"False") return ColType::kBool;
  if (pyIsInt(s)) return ColType::kInt;
  if (pyIsNumber(s)) return ColType::kFloat;
  return ColType::kText;
}

ColType columnType(const std::vector<Cell>& column) {
  ColType type = ColType::kBool;  // quirk: reduce() starts from bool, so an all-missing column
                                  // is "bool" (left-aligned)
  for (const Cell& cell : column) type = std::max(type, cellType(cell));
  return type;
}

Text replaceAll(const Text& s, const Text& from, const Text& to) {
  Text out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != Text::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

// _format: only float columns are re-rendered; int and text cells are printed as given.
Text formatCell(const Cell& cell, ColType type, bool hasInvisible) {
  if (!cell) return U"";
  if (type != ColType::kFloat) return *cell;
  const Text raw = hasInvisible ? stripInvisible(*cell) : *cell;
  const std::optional<double> value = pyFloat(raw);
  if (!value) {
    // "True"/"False" in a float column: tabulate raises ValueError; keep the text instead.
    return *cell;
  }
  const Text formatted = formatGeneral(*value);
  // A coloured number keeps its codes: tabulate replaces the bare number inside the cell.
  return hasInvisible ? replaceAll(*cell, raw, formatted) : formatted;
}

enum class Align { kLeft, kDecimal };

// _afterpoint: digits after the decimal point (or after an exponent 'e'), -1 for none.
long afterPoint(const Text& s) {
  if (!pyIsNumber(s) || pyIsInt(s)) return -1;
  std::size_t pos = s.rfind(U'.');
  if (pos == Text::npos) {
    // string.lower().rfind("e"): the last 'e' or 'E'.
    const std::size_t lower = s.rfind(U'e');
    const std::size_t upper = s.rfind(U'E');
    pos = lower == Text::npos ? upper : (upper == Text::npos ? lower : std::max(lower, upper));
  }
  return pos == Text::npos ? -1 : static_cast<long>(s.size() - pos - 1);
}

// Everything that depends on the whole table: is it multi-line, does it contain codes.
struct Measure {
  bool hasInvisible = false;
  bool isMultiline = false;

  std::size_t lineWidth(const Text& line) const {
    return textWidth(hasInvisible ? stripInvisible(line) : line);
  }
  // tabulate's width_fn: the widest line of a multi-line cell.
  std::size_t width(const Text& s) const {
    if (!isMultiline) return lineWidth(s);
    std::size_t w = 0;
    for (const Text& part : splitCrLf(s)) w = std::max(w, lineWidth(part));
    return w;
  }
  // _padleft/_padright pad to a visible width; nothing happens to a cell already wider.
  Text pad(const Text& s, std::size_t width, Align align) const {
    const std::size_t w = lineWidth(s);
    const Text fill = spaces(width > w ? width - w : 0);
    return align == Align::kLeft ? s + fill : fill + s;
  }
};

// The multi-line branch of _align_column, as tabulate runs it when wcwidth is installed or the
// table has colour codes. Each line's padding is computed from the re.split("[\r\n]") parts
// but applied to the str.splitlines() lines, zipped together. quirk: after a "\r\n" the two
// lists are out of step, so a line with wide characters or colour codes after a CRLF gets the
// padding of the empty part before it (too much); lines past the shorter list are dropped.
// An empty cell has no lines and stays "" (unpadded).
Text padMultiline(const Text& s, std::size_t maxWidth, Align align, const Measure& m) {
  const std::vector<Text> parts = splitCrLf(s);
  const std::vector<Text> lines = pySplitlines(s);
  std::vector<Text> padded;
  for (std::size_t i = 0; i < std::min(parts.size(), lines.size()); ++i) {
    // padfn(maxwidth - (visible - len), line), and padfn pads to a length in code points.
    const long invisible =
        static_cast<long>(parts[i].size()) - static_cast<long>(m.lineWidth(parts[i]));
    const long target = static_cast<long>(maxWidth) + invisible;
    const long fill = std::max(0L, target - static_cast<long>(lines[i].size()));
    const Text blanks = spaces(static_cast<std::size_t>(fill));
    padded.push_back(align == Align::kLeft ? lines[i] + blanks : blanks + lines[i]);
  }
  return join(padded, U"\n");
}

// _align_column.
std::vector<Text> alignColumn(std::vector<Text> strings, Align align, std::size_t minWidth,
                              const Measure& m) {
  if (align == Align::kDecimal) {
    // quirk: numbers are not stripped, and shorter fractions get trailing spaces so that the
    // decimal points line up.
    std::vector<long> decimals;
    long maxDecimals = -1;
    for (const Text& s : strings) {
      decimals.push_back(afterPoint(m.hasInvisible ? stripInvisible(s) : s));
      maxDecimals = std::max(maxDecimals, decimals.back());
    }
    for (std::size_t i = 0; i < strings.size(); ++i) {
      strings[i] += spaces(static_cast<std::size_t>(std::max(0L, maxDecimals - decimals[i])));
    }
  } else {
    for (Text& s : strings) s = pyStrip(s);
  }

  std::size_t maxWidth = minWidth;
  for (const Text& s : strings) maxWidth = std::max(maxWidth, m.width(s));

  for (Text& s : strings) {
    if (m.isMultiline) {
      s = padMultiline(s, maxWidth, align, m);
    } else {
      s = m.pad(s, maxWidth, align);
    }
  }
  return strings;
}

// _align_header: headers are padded but, unlike text cells, never stripped.
Text alignHeader(const Text& header, Align align, std::size_t width, const Measure& m) {
  if (!m.isMultiline) return m.pad(header, width, align);
  std::vector<Text> lines = splitCrLf(header);
  for (Text& line : lines) line = m.pad(line, width, align);
  return join(lines, U"\n");
}

// ---------------------------------------------------------------------------------------------
// Table formats and _format_table

struct LineFormat {
  Text begin;
  char32_t fill;
  Text sep;
  Text end;
};

struct RowFormat {
  Text begin;
  Text sep;
  Text end;
};

struct TableFormat {
  std::optional<LineFormat> lineAbove;
  std::optional<LineFormat> lineBelowHeader;
  std::optional<LineFormat> lineBetweenRows;
  std::optional<LineFormat> lineBelow;
  RowFormat headerRow;
  RowFormat dataRow;
  std::size_t padding;
  bool hideOuterLinesWithHeaders;  // with_header_hide = ["lineabove", "linebelow"]
};

const TableFormat& simpleFormat() {
  static const TableFormat kFormat{LineFormat{U"", U'-', U"  ", U""},
                                   LineFormat{U"", U'-', U"  ", U""},
                                   std::nullopt,
                                   LineFormat{U"", U'-', U"  ", U""},
                                   RowFormat{U"", U"  ", U""},
                                   RowFormat{U"", U"  ", U""},
                                   0,
                                   true};
  return kFormat;
}

const TableFormat& gridFormat() {
  static const TableFormat kFormat{LineFormat{U"+", U'-', U"+", U"+"},
                                   LineFormat{U"+", U'=', U"+", U"+"},
                                   LineFormat{U"+", U'-', U"+", U"+"},
                                   LineFormat{U"+", U'-', U"+", U"+"},
                                   RowFormat{U"|", U"|", U"|"},
                                   RowFormat{U"|", U"|", U"|"},
                                   1,
                                   false};
  return kFormat;
}

// _build_simple_row: quirk: every line is right-stripped, so the last column never has
// trailing blanks and an empty last cell disappears.
Text buildSimpleRow(const std::vector<Text>& cells, const RowFormat& fmt) {
  return pyRstrip(fmt.begin + join(cells, fmt.sep) + fmt.end);
}

Text buildLine(const std::vector<std::size_t>& widths, const LineFormat& fmt) {
  std::vector<Text> cells;
  for (const std::size_t w : widths) cells.emplace_back(w, fmt.fill);
  return buildSimpleRow(cells, RowFormat{fmt.begin, fmt.sep, fmt.end});
}

std::vector<Text> padRow(std::vector<Text> cells, std::size_t padding) {
  for (Text& c : cells) c = spaces(padding) + c + spaces(padding);
  return cells;
}

class TableWriter {
 public:
  TableWriter(const TableFormat& fmt, std::vector<std::size_t> widths, bool isMultiline)
      : fmt_(fmt), widths_(std::move(widths)), isMultiline_(isMultiline) {
    for (const std::size_t w : widths_) paddedWidths_.push_back(w + 2 * fmt_.padding);
  }

  void line(const std::optional<LineFormat>& fmt) {
    if (fmt) lines_.push_back(buildLine(paddedWidths_, *fmt));
  }

  void row(const std::vector<Text>& cells, const RowFormat& fmt) {
    if (!isMultiline_) {
      lines_.push_back(buildSimpleRow(padRow(cells, fmt_.padding), fmt));
      return;
    }
    // _append_multiline_row: quirk: a row whose cells are all empty has zero lines and
    // vanishes (a grid then shows two rules in a row).
    std::vector<std::vector<Text>> cellLines;
    std::size_t lineCount = 0;
    for (const Text& c : cells) {
      cellLines.push_back(pySplitlines(c));
      lineCount = std::max(lineCount, cellLines.back().size());
    }
    for (std::size_t k = 0; k < cellLines.size(); ++k) {
      cellLines[k].resize(lineCount, spaces(widths_[k]));
    }
    for (std::size_t i = 0; i < lineCount; ++i) {
      std::vector<Text> lineCells;
      for (const auto& cl : cellLines) lineCells.push_back(cl[i]);
      lines_.push_back(buildSimpleRow(padRow(lineCells, fmt_.padding), fmt));
    }
  }

  std::string str() const { return encodeUtf8(join(lines_, U"\n")); }

 private:
  const TableFormat& fmt_;
  std::vector<std::size_t> widths_;
  std::vector<std::size_t> paddedWidths_;
  bool isMultiline_;
  std::vector<Text> lines_;
};

// tabulate(rows, headers, tablefmt) with tabulate's defaults for everything else.
std::string render(const std::vector<Row>& rawRows, const Row& rawHeaders, const TableFormat& fmt) {
  std::vector<std::vector<Text>> rows;
  for (const Row& r : rawRows) {
    auto& row = rows.emplace_back();
    for (const std::string& c : r) row.push_back(decodeUtf8(c));
  }
  std::vector<Text> headers;
  for (const std::string& h : rawHeaders) headers.push_back(decodeUtf8(h));

  // _normalize_tabular_data: missing leading headers are blank (judged by the first row only).
  if (!headers.empty() && !rows.empty() && headers.size() < rows.front().size()) {
    headers.insert(headers.begin(), rows.front().size() - headers.size(), Text{});
  }

  // One scan of all the text decides the width function and the multi-line mode.
  std::vector<Text> plainParts{join(headers, U"\t")};
  for (const auto& row : rows) plainParts.push_back(join(row, U"\t"));
  const Text plain = join(plainParts, U"\t");
  Measure m;
  m.hasInvisible = containsInvisible(plain);
  m.isMultiline = plain.find_first_of(U"\r\n") != Text::npos;

  std::size_t columnCount = 0;
  for (const auto& row : rows) columnCount = std::max(columnCount, row.size());

  // Type, format and align every column (zip_longest pads short rows with None).
  std::vector<std::vector<Text>> columns;
  std::vector<Align> aligns;
  for (std::size_t c = 0; c < columnCount; ++c) {
    std::vector<Cell> raw;
    for (const auto& row : rows) raw.push_back(c < row.size() ? Cell{row[c]} : std::nullopt);
    const ColType type = columnType(raw);
    std::vector<Text> formatted;
    for (const Cell& cell : raw) formatted.push_back(formatCell(cell, type, m.hasInvisible));
    columns.push_back(std::move(formatted));
    aligns.push_back(type == ColType::kInt || type == ColType::kFloat ? Align::kDecimal
                                                                      : Align::kLeft);
  }

  std::vector<std::size_t> minWidths;
  if (headers.empty()) {
    minWidths.assign(columnCount, 0);
  } else {
    for (const Text& h : headers) minWidths.push_back(m.width(h) + kMinPadding);
    // quirk: zip() drops columns beyond the headers (only possible with ragged rows).
    columns.resize(std::min(columns.size(), minWidths.size()));
  }
  for (std::size_t c = 0; c < columns.size(); ++c) {
    columns[c] = alignColumn(std::move(columns[c]), aligns[c], minWidths[c], m);
  }

  std::vector<std::size_t> widths;
  if (!headers.empty()) {
    // With no rows tabulate measures one empty cell per header ("t_cols").
    const std::size_t shown = columns.empty() ? headers.size() : columns.size();
    std::vector<Text> aligned;
    for (std::size_t c = 0; c < shown; ++c) {
      std::size_t w = minWidths[c];
      if (!columns.empty()) {
        for (const Text& s : columns[c]) w = std::max(w, m.width(s));
      }
      widths.push_back(w);
      const Align a = columns.empty() ? Align::kLeft : aligns[c];
      aligned.push_back(alignHeader(headers[c], a, w, m));
    }
    headers = std::move(aligned);
  } else {
    for (const auto& col : columns) {
      std::size_t w = 0;
      for (const Text& s : col) w = std::max(w, m.width(s));
      widths.push_back(w);
    }
  }

  // zip(*cols): back to rows (no columns -> no rows).
  std::vector<std::vector<Text>> outRows;
  if (!columns.empty()) {
    for (std::size_t r = 0; r < columns.front().size(); ++r) {
      auto& row = outRows.emplace_back();
      for (const auto& col : columns) row.push_back(col[r]);
    }
  }

  if (headers.empty() && outRows.empty()) return "";  // "a completely empty table"

  const bool hide = !headers.empty() && fmt.hideOuterLinesWithHeaders;
  TableWriter w(fmt, widths, m.isMultiline);
  if (!hide) w.line(fmt.lineAbove);
  if (!headers.empty()) {
    w.row(headers, fmt.headerRow);
    w.line(fmt.lineBelowHeader);
  }
  for (std::size_t r = 0; r < outRows.size(); ++r) {
    w.row(outRows[r], fmt.dataRow);
    if (r + 1 < outRows.size()) w.line(fmt.lineBetweenRows);
  }
  if (!hide) w.line(fmt.lineBelow);
  return w.str();
}

// ---------------------------------------------------------------------------------------------
// textwrap

// Character classes of textwrap's wordsep_re under Python's Unicode regexes. Non-ASCII code
// points count as letters (\w but not \d) unless they are whitespace, decimal digits, combining
// marks or zero-width: exact for letters and digits, which is what status texts contain, but
// non-ASCII punctuation and symbols (Python: not \w) are letters here. That only changes where
// a hyphenated word or an em-dash may break next to such a character.
bool isRegexSpace(char32_t c) {  // textwrap's _whitespace = '\t\n\x0b\x0c\r '
  return c == U'\t' || c == U'\n' || c == 0x0B || c == 0x0C || c == U'\r' || c == U' ';
}

bool isWordChar(char32_t c) {  // \w
  if (c < 0x80) {
    return isDigit(c) || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || c == U'_';
  }
  // Combining marks and zero-width format characters are not \w either.
  return !isPySpace(c) && charWidth(c) != 0;
}

bool isLetter(char32_t c) { return isWordChar(c) && !isDigit(c); }  // [^\d\W]

bool isWordPunct(char32_t c) {  // [\w!"\'&.,?]
  return isWordChar(c) || c == U'!' || c == U'"' || c == U'\'' || c == U'&' || c == U'.' ||
         c == U',' || c == U'?';
}

class TextScanner {
 public:
  explicit TextScanner(const Text& s) : s_(s) {}

  bool is(std::size_t i, bool (*pred)(char32_t)) const { return i < s_.size() && pred(s_[i]); }
  bool isDash(std::size_t i) const { return i < s_.size() && s_[i] == U'-'; }

  // (?=-{2,}\w) at i
  bool emDashAhead(std::size_t i) const {
    std::size_t j = i;
    while (isDash(j)) ++j;
    return j - i >= 2 && is(j, isWordChar);
  }

  // Length of the wordsep_re match at pos (a match always exists at a non-empty position).
  std::size_t matchAt(std::size_t pos) const {
    const std::size_t n = s_.size();
    if (isRegexSpace(s_[pos])) {  // %(ws)s+
      std::size_t i = pos;
      while (is(i, isRegexSpace)) ++i;
      return i - pos;
    }
    // (?<=%(wp)s) -{2,} (?=\w): an em-dash between words.
    if (pos > 0 && isWordPunct(s_[pos - 1]) && emDashAhead(pos)) {
      std::size_t i = pos;
      while (isDash(i)) ++i;
      return i - pos;
    }
    // %(nws)s+? followed by a hyphenation point, the end of the word, or an em-dash.
    for (std::size_t end = pos + 1;; ++end) {
      if (isDash(end)) {
        const std::size_t h = end + 1;  // just past the hyphen
        const bool behind =
            (h >= 3 && isLetter(s_[h - 3]) && isLetter(s_[h - 2])) ||
            (h >= 4 && isLetter(s_[h - 4]) && s_[h - 3] == U'-' && isLetter(s_[h - 2]));
        const bool ahead =
            is(h, isLetter) && (is(h + 1, isLetter) || (isDash(h + 1) && is(h + 2, isLetter)));
        if (behind && ahead) return h - pos;
      }
      if (end == n || isRegexSpace(s_[end])) return end - pos;
      if (isWordPunct(s_[end - 1]) && emDashAhead(end)) return end - pos;
    }
  }

 private:
  const Text& s_;
};

// TextWrapper._split: wordsep_re.split() with the empty strings dropped.
std::vector<Text> splitChunks(const Text& text) {
  std::vector<Text> chunks;
  const TextScanner scanner(text);
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t len = scanner.matchAt(pos);
    chunks.push_back(text.substr(pos, len));
    pos += len;
  }
  return chunks;
}

// TextWrapper._munge_whitespace: expandtabs(8), then each ASCII whitespace -> ' '.
Text mungeWhitespace(const Text& text) {
  Text out;
  std::size_t column = 0;
  for (const char32_t c : text) {
    if (c == U'\t') {
      const std::size_t n = kTabSize - column % kTabSize;
      out += spaces(n);
      column += n;
      continue;
    }
    column = (c == U'\n' || c == U'\r') ? 0 : column + 1;
    out.push_back(isRegexSpace(c) ? U' ' : c);
  }
  return out;
}

// TextWrapper._handle_long_word with break_long_words and break_on_hyphens.
void handleLongWord(std::vector<Text>& reversedChunks, std::vector<Text>& curLine,
                    std::size_t curLen, std::size_t width) {
  const std::size_t spaceLeft = width < 1 ? 1 : width - curLen;
  std::size_t end = spaceLeft;
  Text& chunk = reversedChunks.back();
  if (chunk.size() > spaceLeft) {
    // Break after the last hyphen that fits, if something other than hyphens precedes it.
    const std::size_t hyphen = spaceLeft == 0 ? Text::npos : chunk.rfind(U'-', spaceLeft - 1);
    if (hyphen != Text::npos && hyphen > 0 &&
        std::any_of(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(hyphen),
                    [](char32_t c) { return c != U'-'; })) {
      end = hyphen + 1;
    }
  }
  curLine.push_back(chunk.substr(0, end));
  chunk.erase(0, end);
}

// TextWrapper._wrap_chunks without indents or max_lines.
std::vector<Text> wrapChunks(std::vector<Text> chunks, std::size_t width) {
  std::vector<Text> lines;
  std::reverse(chunks.begin(), chunks.end());
  while (!chunks.empty()) {
    std::vector<Text> curLine;
    std::size_t curLen = 0;
    // Whitespace is dropped at the start of every line but the first.
    if (isAllPySpace(chunks.back()) && !lines.empty()) chunks.pop_back();
    while (!chunks.empty() && curLen + chunks.back().size() <= width) {
      curLen += chunks.back().size();
      curLine.push_back(std::move(chunks.back()));
      chunks.pop_back();
    }
    if (!chunks.empty() && chunks.back().size() > width) {
      handleLongWord(chunks, curLine, curLen, width);
    }
    if (!curLine.empty() && isAllPySpace(curLine.back())) curLine.pop_back();
    if (!curLine.empty()) lines.push_back(join(curLine, U""));
  }
  return lines;
}

}  // namespace

std::string formatSimple(const std::vector<Row>& rows, const Row& headers) {
  return render(rows, headers, simpleFormat());
}

std::string formatGrid(const std::vector<Row>& rows) { return render(rows, {}, gridFormat()); }

std::string wrapText(std::string_view text, std::size_t width) {
  // Python raises ValueError for width 0; errors here travel as values, so clamp instead.
  width = std::max<std::size_t>(width, 1);
  const Text munged = mungeWhitespace(decodeUtf8(text));
  return encodeUtf8(join(wrapChunks(splitChunks(munged), width), U"\n"));
}

std::size_t displayWidth(std::string_view text) { return textWidth(decodeUtf8(text)); }

}  // namespace tjf::tabulate
