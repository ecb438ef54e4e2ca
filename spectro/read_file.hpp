#pragma once
// Reads a whole file into memory in one sized read. Throws emoclass::Error naming the file and
// the reason (open failure with errno's text, a short read) so every reader reports it the same.
#include <string>

namespace spectro {

std::string read_file(const std::string& path);

}  // namespace spectro
