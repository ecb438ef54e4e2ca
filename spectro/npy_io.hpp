#pragma once
// NumPy .npy (format 1.0) for float32 C-order matrices: what `spectro-dump --raw` writes and
// what numpy.load reads back.
#include <cstdio>
#include <string>
#include <vector>

namespace spectro {

struct NpyMatrix {
    std::size_t rows = 0, cols = 0;
    std::vector<float> values;  // row-major
};

std::vector<unsigned char> encode_npy(const float* values, std::size_t rows, std::size_t cols);
void write_npy(const std::string& path, const float* values, std::size_t rows, std::size_t cols);
// Writes the cols x rows transpose of the rows x cols `values` (memory: the input only).
void write_npy_transposed(const std::string& path, const float* values, std::size_t rows, std::size_t cols);
// The same to a stream (e.g. stdout for `--raw -`).
void write_npy_transposed(std::FILE* out, const float* values, std::size_t rows, std::size_t cols);
// Reads a little-endian float32 (or float64, converted) 1-D or 2-D C-order array.
NpyMatrix read_npy(const std::string& path);

}  // namespace spectro
