// Unicode helpers for the tabulate module: lossless UTF-8 <-> UTF-32 conversion and the
// terminal width of one code point. Python works on code points (len(), slicing, regexes), so
// the table and wrapping code does too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tjf::tabulate::detail {

// Bytes that are not valid UTF-8 become U+DC80..U+DCFF (Python's "surrogateescape") so that
// encodeUtf8(decodeUtf8(s)) == s for any byte string.
std::u32string decodeUtf8(std::string_view bytes);
std::string encodeUtf8(std::u32string_view text);

// Columns one code point takes on a terminal, like wcwidth.wcwidth() (wcwidth 0.2.5, Unicode
// 15.0 tables): 2 for East Asian Wide/Fullwidth, 0 for combining marks and zero-width format
// characters. Where wcwidth returns -1 (C0/C1 controls) we return 1, which is what tabulate
// measures without wcwidth (len()); a -1 would poison the whole string's width.
std::size_t charWidth(char32_t c);

// The value 0..9 of a decimal digit (Unicode category Nd, which Python's int(), float() and
// regex \d accept, e.g. Arabic-Indic U+0663), or -1.
int decimalDigitValue(char32_t c);

}  // namespace tjf::tabulate::detail
