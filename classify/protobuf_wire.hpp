#pragma once
// The protobuf wire format, read directly: enough to walk an ONNX ModelProto (classify/
// silu_fusion.cpp rewrites one, classify/onnx_check.cpp validates one) without generated code.
// Every length is checked against its enclosing message, so malformed input is refused, never
// read past.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace classify::wire {

struct Field {
    uint32_t number = 0;
    int wire = 0;
    std::size_t begin = 0, end = 0;                  // the whole field, tag included
    std::size_t payload_begin = 0, payload_end = 0;  // length-delimited payload
};

inline bool read_varint(const std::string& s, std::size_t& pos, std::size_t end, uint64_t& v) {
    v = 0;
    for (int shift = 0; pos < end && shift < 64; shift += 7) {
        const auto b = static_cast<uint8_t>(s[pos++]);
        v |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

// Splits [begin, end) into its fields; false on anything malformed or deprecated (groups).
inline bool parse_fields(const std::string& s, std::size_t begin, std::size_t end, std::vector<Field>& out) {
    for (std::size_t pos = begin; pos < end;) {
        Field f;
        f.begin = pos;
        uint64_t tag = 0, value = 0;
        if (!read_varint(s, pos, end, tag)) return false;
        f.number = uint32_t(tag >> 3);
        f.wire = int(tag & 7);
        switch (f.wire) {
        case 0:
            if (!read_varint(s, pos, end, value)) return false;
            break;
        case 1:
            if (end - pos < 8) return false;
            pos += 8;
            break;
        case 2:
            if (!read_varint(s, pos, end, value) || value > end - pos) return false;
            f.payload_begin = pos;
            pos += std::size_t(value);
            f.payload_end = pos;
            break;
        case 5:
            if (end - pos < 4) return false;
            pos += 4;
            break;
        default:
            return false;
        }
        f.end = pos;
        out.push_back(f);
    }
    return true;
}

}  // namespace classify::wire
