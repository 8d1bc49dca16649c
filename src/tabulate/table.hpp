// Byte-exact re-implementation of the parts of python-tabulate (0.8.9, as shipped by Debian
// bookworm and so used by the upstream CLI) and of Python's textwrap.fill that the upstream
// `toolforge jobs` CLI relies on for its tables.
//
// Every function returns text WITHOUT a trailing newline, exactly like tabulate() and
// textwrap.fill() do; the caller adds one when printing (upstream uses print()).
//
// Rules reproduced from tabulate 0.8.9 (see table.cpp for details):
//  * Cells are typed like tabulate's _type(): "True"/"False" -> bool, Python int() -> int,
//    Python float() -> float (inf/nan only as "inf", "-inf", "nan" in any case), else text.
//    A column's type is the most generic of its cells; a cell missing because its row is short
//    does not count, but an empty string "" is text, so it makes the whole column text.
//  * int and float columns are right-aligned on the decimal point ("decimal" numalign); the
//    header of such a column is right-aligned. Everything else is left-aligned and stripped of
//    surrounding whitespace.
//  * Float columns are re-rendered with Python's format(x, "g"): "2.0" -> "2", "1000000" ->
//    "1e+06". Int columns keep the cell text as given.
//  * "simple": column width = max(widest cell, header width + 2); columns joined by two
//    spaces; every output line is right-stripped.
//  * "grid": one space of padding each side of a cell, `+---+` rules between all rows.
//  * Cells containing '\r' or '\n' switch the whole table to multi-line mode.
//  * Width is measured in terminal columns as tabulate does when python3-wcwidth is installed
//    (East Asian wide = 2, combining marks = 0), ignoring ANSI SGR colour codes and OSC 8
//    hyperlinks. One deliberate difference: a control character (tab, ...) counts 1 column,
//    as in tabulate without wcwidth, where wcwidth would make the whole cell's width -1.
//    For ASCII text with or without wcwidth give the same output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tjf::tabulate {

using Row = std::vector<std::string>;

// tabulate(rows, headers=headers, tablefmt="simple"). Rows may be ragged: missing cells behave
// like tabulate's None (rendered empty, ignored for the column type). With empty `headers`
// tabulate draws a dash rule above and below the data instead of a header; we do the same.
std::string formatSimple(const std::vector<Row>& rows, const Row& headers);

// tabulate(rows, tablefmt="grid") without headers, as `toolforge jobs show` prints it.
// No rows -> "".
std::string formatGrid(const std::vector<Row>& rows);

// textwrap.fill(text, width) with Python's defaults (expand tabs to 8, every ASCII whitespace
// turned into a space, break_long_words and break_on_hyphens on, whitespace dropped at line
// ends but kept at the very start). Lengths count code points, as Python's len() does.
// A width of 0 is treated as 1 (Python raises ValueError there).
std::string wrapText(std::string_view text, std::size_t width);

// Terminal columns taken by a single-line UTF-8 string (wcswidth-like, see char_width.hpp).
std::size_t displayWidth(std::string_view text);

}  // namespace tjf::tabulate
