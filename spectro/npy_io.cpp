#include "spectro/npy_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <regex>

#include "spectro/atomic_file.hpp"
#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

namespace spectro {

static std::string npy_header(std::size_t rows, std::size_t cols) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                         std::to_string(cols) + "), }";
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, '\n' last.
    const std::size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out.push_back(char(header.size() & 0xff));
    out.push_back(char(header.size() >> 8));
    return out + header;
}

std::vector<unsigned char> encode_npy(const float* values, std::size_t rows, std::size_t cols) {
    const std::string header = npy_header(rows, cols);
    std::vector<unsigned char> out(header.begin(), header.end());
    const auto* bytes = reinterpret_cast<const unsigned char*>(values);
    out.insert(out.end(), bytes, bytes + rows * cols * sizeof(float));
    return out;
}

void write_npy(const std::string& path, const float* values, std::size_t rows, std::size_t cols) {
    write_file_atomically(path, encode_npy(values, rows, cols));
}

void write_npy_transposed(const std::string& path, const float* values, std::size_t rows, std::size_t cols) {
    // Out is cols x rows; blocks of input rows are scattered to each output row, so that neither a
    // transposed copy nor the encoded file is held in memory.
    const std::string header = npy_header(cols, rows);
    write_file_atomically(path, header.size() + rows * cols * sizeof(float), [&](const PositionalWrite& write_at) {
        write_at(0, header.data(), header.size());
        constexpr std::size_t kBlock = 4096;
        std::vector<float> run(kBlock);
        for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
            const std::size_t r1 = std::min(rows, r0 + kBlock);
            for (std::size_t c = 0; c < cols; ++c) {
                for (std::size_t r = r0; r < r1; ++r) run[r - r0] = values[r * cols + c];
                write_at(header.size() + (c * rows + r0) * sizeof(float), run.data(), (r1 - r0) * sizeof(float));
            }
        }
    });
}

void write_npy_transposed(std::FILE* out, const float* values, std::size_t rows, std::size_t cols) {
    // A stream cannot be written at offsets: one output row at a time, gathered.
    const std::string header = npy_header(cols, rows);
    bool ok = std::fwrite(header.data(), 1, header.size(), out) == header.size();
    std::vector<float> row(rows);
    for (std::size_t c = 0; c < cols && ok; ++c) {
        for (std::size_t r = 0; r < rows; ++r) row[r] = values[r * cols + c];
        ok = std::fwrite(row.data(), sizeof(float), rows, out) == rows;
    }
    if (!ok || std::fflush(out) != 0) throw emoclass::Error("-", std::string("cannot write: ") + std::strerror(errno));
}

NpyMatrix read_npy(const std::string& path) {
    const std::string bytes = read_file(path);
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t size = bytes.size();
    if (size < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0) throw emoclass::Error(path, "not a .npy file");
    std::size_t header_len = 0, start = 0;
    if (b[6] == 1) {
        header_len = b[8] | (std::size_t(b[9]) << 8);
        start = 10;
    } else {
        if (size < 12) throw emoclass::Error(path, "truncated .npy header");
        header_len = b[8] | (std::size_t(b[9]) << 8) | (std::size_t(b[10]) << 16) | (std::size_t(b[11]) << 24);
        start = 12;
    }
    if (start + header_len > size) throw emoclass::Error(path, "truncated .npy header");
    const std::string header = bytes.substr(start, header_len);
    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]f[48])'")))
        throw emoclass::Error(path, "only little-endian float32/float64 arrays are supported");
    const bool f64 = m[1].str().back() == '8';
    if (header.find("'fortran_order': True") != std::string::npos) throw emoclass::Error(path, "Fortran order not supported");
    if (!std::regex_search(header, m, std::regex("'shape':\\s*\\((\\d+),\\s*(\\d*)\\)")))
        throw emoclass::Error(path, "unsupported .npy shape");
    NpyMatrix out;
    out.rows = std::stoul(m[1].str());
    out.cols = m[2].str().empty() ? 1 : std::stoul(m[2].str());
    const std::size_t n = out.rows * out.cols, width = f64 ? 8 : 4;
    const std::size_t data = start + header_len;
    if (size < data + n * width) throw emoclass::Error(path, "truncated .npy data");
    out.values.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (f64) {
            double d;
            std::memcpy(&d, &b[data + i * 8], 8);
            out.values[i] = float(d);
        } else {
            std::memcpy(&out.values[i], &b[data + i * 4], 4);
        }
    }
    return out;
}

}  // namespace spectro
