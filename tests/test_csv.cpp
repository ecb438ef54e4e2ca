// The one CSV reader (spectro/corpora/csv.hpp): RFC 4180 quoting, line numbers, errors that name the line.
#include <gtest/gtest.h>

#include "spectro/corpora/csv.hpp"
#include "spectro/error.hpp"
#include "test_support.hpp"

using corpora::parse_csv;

TEST(Csv, ReadsQuotedCommasLineBreaksAndQuotes) {
    const std::string text =
        "\xEF\xBB\xBFpath,label,speaker,notes\r\n"          // byte-order mark, CRLF
        "a.wav,angry,01,plain\r\n"
        "\"dir, with comma/b.wav\",sad,\"0 2\",\"said \"\"no\"\"\"\r\n"
        "\r\n"                                               // blank lines are skipped
        "c.wav,happy,03,\"two\nlines\"\n"
        "d.wav,,04,\n"                                       // empty fields stay empty
        " e.wav ,fear,05,x";                                 // spaces are data; no final newline
    auto t = parse_csv(text, "m.csv");
    EXPECT_EQ(t.header, (std::vector<std::string>{"path", "label", "speaker", "notes"}));
    ASSERT_EQ(t.rows.size(), 5u);
    EXPECT_EQ(t.rows[0].fields, (std::vector<std::string>{"a.wav", "angry", "01", "plain"}));
    EXPECT_EQ(t.rows[1].fields, (std::vector<std::string>{"dir, with comma/b.wav", "sad", "0 2", "said \"no\""}));
    EXPECT_EQ(t.rows[2].fields[3], "two\nlines");
    EXPECT_EQ(t.rows[3].fields, (std::vector<std::string>{"d.wav", "", "04", ""}));
    EXPECT_EQ(t.rows[4].fields[0], " e.wav ");
    // Each row knows the line it starts on, also after a field that spans two lines.
    EXPECT_EQ(t.rows[0].line, 2u);
    EXPECT_EQ(t.rows[1].line, 3u);
    EXPECT_EQ(t.rows[2].line, 5u);
    EXPECT_EQ(t.rows[3].line, 7u);
    EXPECT_EQ(t.rows[4].line, 8u);
    EXPECT_EQ(t.column("speaker"), 2u);
    EXPECT_FALSE(t.column("corpus").has_value());
}

TEST(Csv, MalformedInputIsOneErrorNamingTheLine) {
    auto error_of = [](const std::string& text) {
        try {
            parse_csv(text, "m.csv");
        } catch (const emoclass::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error_of("a,b\n1,2\n3,x\"y\n").rfind("m.csv:3: malformed CSV", 0), 0u) << error_of("a,b\n1,2\n3,x\"y\n");
    EXPECT_EQ(error_of("a,b\n\"1\"2,3\n").rfind("m.csv:2: malformed CSV", 0), 0u);
    EXPECT_EQ(error_of("a,b\n1,\"open\n2,3\n").rfind("m.csv:3: malformed CSV (a quoted field is not closed)", 0), 0u)
        << error_of("a,b\n1,\"open\n2,3\n");
    EXPECT_EQ(error_of(""), "m.csv: empty (a header row is needed)");
    EXPECT_EQ(error_of("\n\r\n"), "m.csv: empty (a header row is needed)");
    EXPECT_EQ(error_of("a,b\n1,2\n"), "no error");
    test_support::TempDir tmp;
    try {
        corpora::read_csv(tmp / "missing.csv");
        ADD_FAILURE() << "a missing file was read";
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), tmp / "missing.csv");
    }
}

TEST(Csv, WrittenFieldsReadBackUnchanged) {
    const std::vector<std::string> values = {"plain", "with, comma", "with \"quote\"", "two\nlines", "cr\rlf", "", " sp "};
    std::string line;
    for (const auto& v : values) line += (line.empty() ? "" : ",") + corpora::csv_field(v);
    auto t = parse_csv("h1,h2,h3,h4,h5,h6,h7\n" + line + "\n", "x");
    ASSERT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0].fields, values);
    EXPECT_EQ(corpora::csv_field("plain"), "plain");  // quoted only when needed
}
