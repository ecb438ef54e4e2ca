#include "spectro/corpora/csv.hpp"

#include <csv.h>

#include <algorithm>

#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

namespace corpora {

namespace {

// State the libcsv callbacks fill: the current row, the finished rows, and where the input is.
struct Collector {
    std::vector<CsvRow> rows;
    std::vector<std::string> fields;
    std::size_t newlines_in_fields = 0;  // line breaks inside the current row's quoted fields
    std::size_t line = 1;                // line being fed to the parser
};

void on_field(void* data, std::size_t len, void* collector) {
    auto& c = *static_cast<Collector*>(collector);
    const char* s = static_cast<const char*>(data);
    c.fields.emplace_back(s ? s : "", s ? len : 0);
    c.newlines_in_fields += std::size_t(std::count(c.fields.back().begin(), c.fields.back().end(), '\n'));
}

void on_row_end(int, void* collector) {
    auto& c = *static_cast<Collector*>(collector);
    // The row ends on the line being fed; it started as many lines earlier as its fields broke.
    c.rows.push_back(CsvRow{c.line - c.newlines_in_fields, std::move(c.fields)});
    c.fields.clear();
    c.newlines_in_fields = 0;
}

// Spaces are data (RFC 4180), not padding to trim as libcsv does by default.
int no_space(unsigned char) { return 0; }

}  // namespace

std::optional<std::size_t> CsvTable::column(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) return std::nullopt;
    return std::size_t(it - header.begin());
}

CsvTable parse_csv(const std::string& text, const std::string& source) {
    csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw emoclass::Error(source, "cannot start the CSV parser");
    csv_set_space_func(&parser, no_space);
    Collector c;
    std::size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    auto fail = [&](const std::string& reason) {
        csv_free(&parser);
        throw emoclass::Error(source + ":" + std::to_string(c.line), reason);
    };
    // Fed one line at a time so that rows and errors know their line number.
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        end = end == std::string::npos ? text.size() : end + 1;
        const std::size_t n = end - pos;
        if (csv_parse(&parser, text.data() + pos, n, on_field, on_row_end, &c) != n)
            fail(std::string("malformed CSV (") + csv_strerror(csv_error(&parser)) +
                 "; a field with a quote, comma or line break must be quoted, a quote inside doubled)");
        pos = end;
        if (pos < text.size()) ++c.line;
    }
    if (csv_fini(&parser, on_field, on_row_end, &c) != 0) fail("malformed CSV (a quoted field is not closed)");
    csv_free(&parser);

    CsvTable table;
    table.source = source;
    if (c.rows.empty()) throw emoclass::Error(source, "empty (a header row is needed)");
    table.header = std::move(c.rows.front().fields);
    table.rows.assign(std::make_move_iterator(c.rows.begin() + 1), std::make_move_iterator(c.rows.end()));
    return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(spectro::read_file(path), path); }

std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
    std::string out = "\"";
    for (char ch : value) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

}  // namespace corpora
