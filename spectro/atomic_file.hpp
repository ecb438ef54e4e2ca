#pragma once
// Writes a whole file so that readers only ever see the old state or the complete new one:
// write PATH.tmp.<pid>.<n> beside it, flush, then rename over PATH. On failure nothing is left.
#include <string>
#include <vector>

namespace spectro {

void write_file_atomically(const std::string& path, const void* data, std::size_t size);
inline void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
    write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace spectro
