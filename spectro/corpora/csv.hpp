#pragma once
// The project's one definition of CSV (RFC 4180: a header row, comma separators, fields quoted
// with '"' when they hold commas, quotes or line breaks, '""' for a quote inside), read through
// libcsv in strict mode. Every manifest goes through it: a corpus manifest
// (path,label,speaker[,corpus]), spectro-dump's dataset manifest.csv, and eval's inputs.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace corpora {

struct CsvRow {
    std::size_t line = 0;  // 1-based line where the row starts (a quoted field may span lines)
    std::vector<std::string> fields;
};

struct CsvTable {
    std::string source;               // file name (or other subject) used in error messages
    std::vector<std::string> header;  // first row
    std::vector<CsvRow> rows;         // the rows after it; blank lines are skipped
    // Index of the column named `name` in the header, or nullopt.
    std::optional<std::size_t> column(const std::string& name) const;
};

// Parses CSV text; `source` names it in errors. Throws emoclass::Error("SOURCE:LINE", reason) on
// malformed CSV (a stray quote, an unterminated quoted field) and on a missing header.
// A UTF-8 byte-order mark before the header is dropped; CRLF and LF line ends are both read.
CsvTable parse_csv(const std::string& text, const std::string& source);

// Reads and parses a CSV file. Throws emoclass::Error naming the file.
CsvTable read_csv(const std::string& path);

// One field as written into a CSV row: quoted only when it holds a comma, quote or line break.
std::string csv_field(const std::string& value);

}  // namespace corpora
