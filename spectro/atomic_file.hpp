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

// The temporaries above outlive a process killed between open and rename (SIGKILL, a crash, a
// power loss). Removes those directly in `dir` (not in subfolders) whose name has that pattern
// (NAME.tmp.PID.N or NAME.tmp.PID.pN) and whose PID is no running process: a live writer's are
// kept, so two runs into one folder do not disturb each other. Returns the paths removed; a
// folder that cannot be listed removes nothing. PIDs are this machine's: on a folder shared
// over the network by writers on several machines, do not call it.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace spectro
