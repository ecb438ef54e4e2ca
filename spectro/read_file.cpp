#include "spectro/read_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "spectro/error.hpp"

namespace spectro {

std::string read_file(const std::string& path) {
    std::error_code ec;
    // A directory opens on Linux and reports a meaningless size; say what it is instead.
    if (std::filesystem::is_directory(path, ec)) throw emoclass::Error(path, "is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw emoclass::Error(path, std::string("cannot open: ") + std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff size = in ? std::streamoff(in.tellg()) : -1;
    if (size < 0) {  // not seekable (a pipe, `--settings <(...)`): read until the end
        in.clear();
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) throw emoclass::Error(path, "cannot read");
        return bytes;
    }
    std::string bytes(std::size_t(size), '\0');
    in.seekg(0);
    if (size > 0 && !in.read(bytes.data(), size)) throw emoclass::Error(path, "cannot read: the file shrank while reading");
    return bytes;
}

}  // namespace spectro
