#pragma once
// Writes a whole file so that readers only ever see the old state or the complete new one:
// write PATH.tmp.<pid>.<n> beside it, flush, then rename over PATH. On failure nothing is left.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace spectro {

void write_file_atomically(const std::string& path, const void* data, std::size_t size);
inline void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
    write_file_atomically(path, bytes.data(), bytes.size());
}

// The same for a file written in pieces at known offsets (e.g. a transposed matrix), without
// holding it whole in memory: `fill` gets a function that writes bytes at an offset.
using PositionalWrite = std::function<void(std::size_t offset, const void* data, std::size_t size)>;
using PositionalFill = std::function<void(const PositionalWrite&)>;
void write_file_atomically(const std::string& path, std::size_t size, const PositionalFill& fill);

}  // namespace spectro
