// read_file: whole files byte for byte, and errors that name the file and the reason.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <thread>

#include "spectro/atomic_file.hpp"
#include "spectro/error.hpp"
#include "spectro/read_file.hpp"
#include "test_support.hpp"

namespace {

std::string error_of(const std::string& path) {
    try {
        spectro::read_file(path);
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), path);
        return e.reason();
    }
    return "no error";
}

}  // namespace

TEST(ReadFile, ReturnsEveryByteIncludingNulAndHighBytes) {
    test_support::TempDir dir;
    std::vector<unsigned char> bytes(70000);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>((i * 131) % 256);
    bytes[0] = 0;
    spectro::write_file_atomically(dir / "blob.bin", bytes);
    const std::string back = spectro::read_file(dir / "blob.bin");
    ASSERT_EQ(back.size(), bytes.size());
    EXPECT_EQ(0, std::memcmp(back.data(), bytes.data(), bytes.size()));
}

TEST(ReadFile, EmptyFileIsEmptyString) {
    test_support::TempDir dir;
    spectro::write_file_atomically(dir / "empty", std::vector<unsigned char>{});
    EXPECT_EQ(spectro::read_file(dir / "empty"), "");
}

TEST(ReadFile, MissingFileAndDirectoryAreErrorsNamingThePath) {
    test_support::TempDir dir;
    EXPECT_EQ(error_of(dir / "nope.png"), "cannot open: No such file or directory");
    EXPECT_EQ(error_of(dir.path()), "is a directory, not a file");
}

TEST(ReadFile, ReadsAPipeToItsEnd) {
    test_support::TempDir dir;
    const std::string fifo = dir / "fifo";
    ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
    std::thread writer([&] {
        std::ofstream out(fifo, std::ios::binary);
        out << std::string(100000, 'x');
    });
    const std::string got = spectro::read_file(fifo);
    writer.join();
    EXPECT_EQ(got, std::string(100000, 'x'));
}
