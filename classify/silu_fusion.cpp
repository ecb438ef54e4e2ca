#include "classify/silu_fusion.hpp"

#include "classify/protobuf_wire.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace classify {
namespace {

using wire::Field;
using wire::parse_fields;
using wire::read_varint;

// Field numbers of onnx.proto used here.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1, kGraphOutput = 12;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                   kNodeDomain = 7;
constexpr uint32_t kValueInfoName = 1;

void write_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(v | 0x80));
        v >>= 7;
    }
    out.push_back(char(v));
}

void write_bytes_field(std::string& out, uint32_t number, const std::string& payload) {
    write_varint(out, (uint64_t(number) << 3) | 2);
    write_varint(out, payload.size());
    out += payload;
}

struct Node {
    std::vector<std::string> inputs, outputs;
    std::string name, op_type, domain;
    bool has_attributes = false;
};

bool parse_node(const std::string& s, const Field& field, Node& node) {
    std::vector<Field> fields;
    if (!parse_fields(s, field.payload_begin, field.payload_end, fields)) return false;
    for (const Field& f : fields) {
        if (f.number == kNodeAttribute) {
            node.has_attributes = true;
            continue;
        }
        if (f.wire != 2) continue;
        std::string text = s.substr(f.payload_begin, f.payload_end - f.payload_begin);
        switch (f.number) {
        case kNodeInput: node.inputs.push_back(std::move(text)); break;
        case kNodeOutput: node.outputs.push_back(std::move(text)); break;
        case kNodeName: node.name = std::move(text); break;
        case kNodeOpType: node.op_type = std::move(text); break;
        case kNodeDomain: node.domain = std::move(text); break;
        default: break;
        }
    }
    return true;
}

bool default_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

std::string swish_node(const std::string& x, const std::string& y, const std::string& name) {
    std::string out;
    write_bytes_field(out, kNodeInput, x);
    write_bytes_field(out, kNodeOutput, y);
    if (!name.empty()) write_bytes_field(out, kNodeName, name);
    write_bytes_field(out, kNodeOpType, "Swish");
    return out;
}

}  // namespace

SiluFusion fuse_silu(const std::string& model) {
    // Copied only when it is the answer: the model is megabytes.
    const auto unchanged = [&model] { return SiluFusion{model, 0}; };
    std::vector<Field> model_fields;
    if (!parse_fields(model, 0, model.size(), model_fields)) return unchanged();
    const Field* graph = nullptr;
    for (const Field& f : model_fields) {
        if (f.number != kModelGraph || f.wire != 2) continue;
        if (graph) return unchanged();  // a split (merged) graph field: leave it to OpenCV
        graph = &f;
    }
    if (!graph) return unchanged();

    std::vector<Field> graph_fields;
    if (!parse_fields(model, graph->payload_begin, graph->payload_end, graph_fields)) return unchanged();
    std::vector<Node> nodes;
    std::vector<long> node_at(graph_fields.size(), -1);  // graph field -> index into nodes
    std::set<std::string> graph_outputs;
    for (std::size_t i = 0; i < graph_fields.size(); ++i) {
        const Field& f = graph_fields[i];
        if (f.number == kGraphNode && f.wire == 2) {
            Node n;
            if (!parse_node(model, f, n)) return unchanged();
            // Control flow carries subgraphs whose names this pass does not see.
            if (n.op_type == "If" || n.op_type == "Loop" || n.op_type == "Scan") return unchanged();
            node_at[i] = long(nodes.size());
            nodes.push_back(std::move(n));
        } else if (f.number == kGraphOutput && f.wire == 2) {
            std::vector<Field> vi;
            if (!parse_fields(model, f.payload_begin, f.payload_end, vi)) return unchanged();
            for (const Field& v : vi)
                if (v.number == kValueInfoName && v.wire == 2)
                    graph_outputs.insert(model.substr(v.payload_begin, v.payload_end - v.payload_begin));
        }
    }

    std::map<std::string, std::vector<std::size_t>> consumers;  // tensor -> nodes reading it
    for (std::size_t k = 0; k < nodes.size(); ++k)
        for (const auto& in : nodes[k].inputs) consumers[in].push_back(k);

    std::set<std::size_t> dropped;
    std::map<std::size_t, std::string> replaced;  // node index -> new NodeProto bytes
    for (std::size_t k = 0; k < nodes.size(); ++k) {
        const Node& sig = nodes[k];
        if (sig.op_type != "Sigmoid" || !default_domain(sig) || sig.has_attributes || sig.inputs.size() != 1 ||
            sig.outputs.size() != 1)
            continue;
        const std::string& x = sig.inputs[0];
        const std::string& s = sig.outputs[0];
        const auto& readers = consumers[s];
        if (readers.size() != 1 || graph_outputs.count(s)) continue;
        const std::size_t m = readers[0];
        const Node& mul = nodes[m];
        if (mul.op_type != "Mul" || !default_domain(mul) || mul.has_attributes || mul.outputs.size() != 1 ||
            mul.inputs.size() != 2 || replaced.count(m))
            continue;
        const bool pair = (mul.inputs[0] == x && mul.inputs[1] == s) || (mul.inputs[0] == s && mul.inputs[1] == x);
        if (!pair) continue;
        dropped.insert(k);
        replaced[m] = swish_node(x, mul.outputs[0], mul.name);
    }
    if (replaced.empty()) return unchanged();

    // The rewritten graph goes straight into the result (one copy of the megabytes of weights, not
    // two): its length prefix comes first, so the kept and new node bytes are measured beforehand.
    std::size_t graph_size = 0;
    for (std::size_t i = 0; i < graph_fields.size(); ++i) {
        const Field& f = graph_fields[i];
        if (node_at[i] >= 0) {
            const auto k = std::size_t(node_at[i]);
            if (dropped.count(k)) continue;
            const auto r = replaced.find(k);
            if (r != replaced.end()) {
                std::string head;
                write_varint(head, (uint64_t(kGraphNode) << 3) | 2);
                write_varint(head, r->second.size());
                graph_size += head.size() + r->second.size();
                continue;
            }
        }
        graph_size += f.end - f.begin;
    }

    SiluFusion result;
    result.fused = int(replaced.size());
    result.model.reserve(model.size() + 16);
    for (const Field& mf : model_fields) {
        if (&mf != graph) {
            result.model.append(model, mf.begin, mf.end - mf.begin);
            continue;
        }
        write_varint(result.model, (uint64_t(kModelGraph) << 3) | 2);
        write_varint(result.model, graph_size);
        for (std::size_t i = 0; i < graph_fields.size(); ++i) {
            const Field& f = graph_fields[i];
            if (node_at[i] >= 0) {
                const auto k = std::size_t(node_at[i]);
                if (dropped.count(k)) continue;
                const auto r = replaced.find(k);
                if (r != replaced.end()) {
                    write_bytes_field(result.model, kGraphNode, r->second);
                    continue;
                }
            }
            result.model.append(model, f.begin, f.end - f.begin);
        }
    }
    return result;
}

}  // namespace classify
