#include "classify/onnx_check.hpp"

#include <map>
#include <set>
#include <vector>

#include "classify/protobuf_wire.hpp"
#include "spectro/error.hpp"

namespace classify {
namespace {

using wire::Field;

// Field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto).
constexpr uint32_t kModelGraph = 7, kModelFunctions = 25;
constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphSparseInitializer = 15;
constexpr uint32_t kNodeInput = 1, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7;
constexpr uint32_t kAttrTensor = 5, kAttrGraph = 6, kAttrTensors = 10, kAttrGraphs = 11, kAttrSparseTensor = 22,
                   kAttrSparseTensors = 23;
constexpr uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorInt32Data = 5,
                   kTensorStringData = 6, kTensorInt64Data = 7, kTensorName = 8, kTensorRawData = 9,
                   kTensorDoubleData = 10, kTensorUint64Data = 11, kTensorExternalData = 13,
                   kTensorDataLocation = 14;

constexpr std::size_t kMaxNodes = 20000, kMaxTensors = 20000, kMaxAttributes = 100000;
constexpr uint64_t kMaxElements = uint64_t(1) << 28;  // one tensor: 1 GiB of float32

// What a YOLOv8-cls (and similar convolutional classifiers) exports for OpenCV 4.6 uses.
const std::set<std::string> kAllowedOps = {
    "Add",     "AveragePool", "BatchNormalization", "Clip",    "Concat",  "Constant",          "Conv",
    "Div",     "Dropout",     "Flatten",            "Gemm",    "GlobalAveragePool", "HardSigmoid",
    "HardSwish", "Identity",  "LeakyRelu",          "MatMul",  "MaxPool", "Mul",     "Relu",
    "Reshape", "Sigmoid",     "Softmax",            "Split",   "Sub",     "Tanh",    "Transpose",
    "Unsqueeze", "Squeeze",   "Pad",                "Resize",  "Upsample",
    // int8 networks (scripts/quantize_bundle.py): ONNX's own quantised operators, and OpenCV's
    // int8 Swish layer, which that script writes for each SiLU (OpenCV's importer maps the name).
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "SwishInt8",
};
// ONNX Runtime's quantised operators (domain com.microsoft) that OpenCV 4.6 imports.
const std::set<std::string> kAllowedMicrosoftOps = {
    "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearConcat",
    "QLinearAveragePool", "QLinearGlobalAveragePool",
};

// Bytes per element of ONNX TensorProto.DataType values; 0 for types a classifier has no use
// for (strings, complex).
std::size_t element_bytes(uint64_t data_type) {
    switch (data_type) {
    case 1: return 4;   // FLOAT
    case 2: return 1;   // UINT8
    case 3: return 1;   // INT8
    case 4: return 2;   // UINT16
    case 5: return 2;   // INT16
    case 6: return 4;   // INT32
    case 7: return 8;   // INT64
    case 9: return 1;   // BOOL
    case 10: return 2;  // FLOAT16
    case 11: return 8;  // DOUBLE
    case 12: return 4;  // UINT32
    case 13: return 8;  // UINT64
    case 16: return 2;  // BFLOAT16
    default: return 0;
    }
}

class Checker {
public:
    Checker(const std::string& bytes, const std::string& subject) : s_(bytes), subject_(subject) {}

    void model() {
        const auto fields = split(0, s_.size(), "ModelProto");
        const Field* graph_field = nullptr;
        for (const Field& f : fields) {
            if (f.number == kModelGraph && f.wire == 2) graph_field = &f;
            if (f.number == kModelFunctions) fail("model-local functions are not supported");
        }
        if (!graph_field) fail("no graph");
        graph(*graph_field);
    }

private:
    [[noreturn]] void fail(const std::string& reason) const {
        throw emoclass::Error(subject_, "refused before loading (" + reason + "): not a model this emoclass runs");
    }

    std::vector<Field> split(std::size_t begin, std::size_t end, const char* what) const {
        std::vector<Field> fields;
        if (!wire::parse_fields(s_, begin, end, fields)) fail(std::string("malformed protobuf in ") + what);
        return fields;
    }

    uint64_t varint_of(const Field& f) const {
        std::size_t pos = f.begin;
        uint64_t tag = 0, v = 0;
        wire::read_varint(s_, pos, f.end, tag);
        wire::read_varint(s_, pos, f.end, v);
        return v;
    }

    // Varints packed in a length-delimited field.
    std::size_t packed_varints(const Field& f, std::vector<int64_t>* out = nullptr) const {
        std::size_t n = 0;
        for (std::size_t pos = f.payload_begin; pos < f.payload_end; ++n) {
            uint64_t v = 0;
            if (!wire::read_varint(s_, pos, f.payload_end, v)) fail("malformed packed integers");
            if (out) out->push_back(int64_t(v));
        }
        return n;
    }

    std::string text_of(const Field& f) const {
        if (f.wire != 2) fail("a string field of the wrong wire type");
        return s_.substr(f.payload_begin, f.payload_end - f.payload_begin);
    }

    void graph(const Field& g) {
        if (++graphs_ > 1) fail("subgraphs are not supported");
        std::size_t nodes = 0;
        for (const Field& f : split(g.payload_begin, g.payload_end, "GraphProto")) {
            if (f.number == kGraphNode && f.wire == 2) {
                if (++nodes > kMaxNodes) fail("more than " + std::to_string(kMaxNodes) + " nodes");
                node(f);
            } else if (f.number == kGraphInitializer && f.wire == 2) {
                const TensorInfo t = tensor(f);
                initializers_[t.name] = t;
            } else if (f.number == kGraphSparseInitializer) {
                fail("sparse initializers are not supported");
            }
        }
        if (nodes == 0) fail("the graph has no nodes");
        // OpenCV's int8 activation layer indexes its table with every int8 value and trusts its
        // size: it must be an initializer of exactly 256 int8 values.
        for (const std::string& table : swish_tables_) {
            const auto it = initializers_.find(table);
            if (it == initializers_.end() || it->second.data_type != 3 || it->second.elements != 256)
                fail("SwishInt8's table '" + table + "' is not an initializer of 256 int8 values");
        }
    }

    void node(const Field& n) {
        std::string op, domain;
        std::vector<std::string> inputs;
        for (const Field& f : split(n.payload_begin, n.payload_end, "NodeProto")) {
            if (f.number == kNodeOpType) op = text_of(f);
            else if (f.number == kNodeDomain) domain = text_of(f);
            else if (f.number == kNodeInput) inputs.push_back(text_of(f));
            else if (f.number == kNodeAttribute && f.wire == 2) attribute(f);
        }
        if (op == "SwishInt8") {
            if (inputs.size() != 2) fail("SwishInt8 needs its input and its table");
            swish_tables_.push_back(inputs[1]);
        }
        if (domain == "com.microsoft") {
            if (!kAllowedMicrosoftOps.count(op)) fail("operator '" + domain + "." + op + "' is not one of the supported ones");
            return;
        }
        if (!domain.empty() && domain != "ai.onnx") fail("operator domain '" + domain + "'");
        if (!kAllowedOps.count(op)) fail("operator '" + op + "' is not one of the supported ones");
    }

    void attribute(const Field& a) {
        if (++attributes_ > kMaxAttributes) fail("too many attributes");
        for (const Field& f : split(a.payload_begin, a.payload_end, "AttributeProto")) {
            if ((f.number == kAttrTensor || f.number == kAttrTensors) && f.wire == 2) tensor(f);
            else if (f.number == kAttrGraph || f.number == kAttrGraphs) fail("subgraphs are not supported");
            else if (f.number == kAttrSparseTensor || f.number == kAttrSparseTensors)
                fail("sparse tensors are not supported");
        }
    }

    struct TensorInfo {
        std::string name;
        uint64_t data_type = 0;
        uint64_t elements = 0;
    };

    TensorInfo tensor(const Field& t) {
        if (++tensors_ > kMaxTensors) fail("more than " + std::to_string(kMaxTensors) + " tensors");
        std::vector<int64_t> dims;
        uint64_t data_type = 0;
        std::string name;
        std::size_t raw_bytes = 0, floats = 0, int32s = 0, int64s = 0, doubles = 0, uint64s = 0;
        int storages = 0;
        bool has_raw = false;
        for (const Field& f : split(t.payload_begin, t.payload_end, "TensorProto")) {
            switch (f.number) {
            case kTensorDims:
                if (f.wire == 0) dims.push_back(int64_t(varint_of(f)));
                else if (f.wire == 2) packed_varints(f, &dims);
                else fail("malformed dims");
                break;
            case kTensorDataType: data_type = f.wire == 0 ? varint_of(f) : 0; break;
            case kTensorName: name = text_of(f); break;
            case kTensorRawData:
                has_raw = true;
                raw_bytes += f.payload_end - f.payload_begin;
                break;
            case kTensorFloatData: floats += f.wire == 2 ? (f.payload_end - f.payload_begin) / 4 : 1; break;
            case kTensorDoubleData: doubles += f.wire == 2 ? (f.payload_end - f.payload_begin) / 8 : 1; break;
            case kTensorInt32Data: int32s += f.wire == 2 ? packed_varints(f) : 1; break;
            case kTensorInt64Data: int64s += f.wire == 2 ? packed_varints(f) : 1; break;
            case kTensorUint64Data: uint64s += f.wire == 2 ? packed_varints(f) : 1; break;
            case kTensorStringData: fail("string tensors are not supported");
            case kTensorExternalData: fail("tensor '" + name + "' keeps its data in an external file");
            case kTensorDataLocation:
                if (f.wire == 0 && varint_of(f) != 0) fail("tensor '" + name + "' keeps its data in an external file");
                break;
            default: break;
            }
        }
        const std::string which = "tensor '" + name + "'";
        const std::size_t width = element_bytes(data_type);
        if (width == 0) fail(which + " has unsupported data type " + std::to_string(data_type));
        uint64_t elements = 1;
        for (int64_t d : dims) {
            if (d < 0) fail(which + " has a negative dimension");
            if (d > 0 && elements > kMaxElements / uint64_t(d)) fail(which + " is too large");
            elements *= uint64_t(d);
        }
        if (elements > kMaxElements) fail(which + " is too large");
        storages = int(has_raw) + int(floats > 0) + int(int32s > 0) + int(int64s > 0) + int(doubles > 0) +
                   int(uint64s > 0);
        if (storages > 1) fail(which + " stores its values in more than one field");
        // The count each storage must hold for this type and shape (onnx.proto's rules).
        std::size_t held = 0;
        if (has_raw) {
            if (raw_bytes != elements * width)
                fail(which + " holds " + std::to_string(raw_bytes) + " bytes but its type and dims need " +
                     std::to_string(elements * width));
            return {name, data_type, elements};
        }
        if (floats) held = data_type == 1 ? floats : ~std::size_t(0);
        else if (doubles) held = data_type == 11 ? doubles : ~std::size_t(0);
        else if (int64s) held = data_type == 7 ? int64s : ~std::size_t(0);
        else if (uint64s) held = (data_type == 12 || data_type == 13) ? uint64s : ~std::size_t(0);
        else if (int32s) held = (data_type == 2 || data_type == 3 || data_type == 4 || data_type == 5 || data_type == 6 ||
                                 data_type == 9 || data_type == 10 || data_type == 16)
                                    ? int32s
                                    : ~std::size_t(0);
        if (held == ~std::size_t(0)) fail(which + " stores its values in a field that does not match its type");
        if (held != elements)
            fail(which + " holds " + std::to_string(held) + " values but its dims need " + std::to_string(elements));
        return {name, data_type, elements};
    }

    const std::string& s_;
    const std::string& subject_;
    int graphs_ = 0;
    std::size_t tensors_ = 0, attributes_ = 0;
    std::map<std::string, TensorInfo> initializers_;
    std::vector<std::string> swish_tables_;
};

}  // namespace

void check_onnx_model(const std::string& model_proto, const std::string& subject) {
    Checker(model_proto, subject).model();
}

}  // namespace classify
