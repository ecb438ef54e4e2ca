#pragma once
// SiLU for OpenCV DNN. PyTorch and ultralytics export SiLU (x * sigmoid(x)) at opset 12 as a
// Sigmoid node and a Mul node; OpenCV 4.6 runs them as two more passes over memory with a scalar
// exp each, and cannot fuse them into the convolution before. OpenCV's own Swish layer computes
// the same function and is fused. fuse_silu() rewrites each Sigmoid+Mul pair of a serialized ONNX
// ModelProto into one node of type "Swish" (a name OpenCV's importer maps to that layer; it is
// not a standard ONNX operator, so the rewritten bytes are only ever handed to OpenCV, never
// written to disk). The bundle keeps the standard file.
//
// It reads the protobuf wire format directly (the few fields involved: ModelProto.graph,
// GraphProto.node/output, NodeProto.input/output/name/op_type/domain/attribute); anything it does
// not understand leaves the model unchanged, so OpenCV still reports its own errors.
#include <string>

namespace classify {

struct SiluFusion {
    std::string model;  // the rewritten ModelProto (or the input, unchanged)
    int fused = 0;      // Sigmoid+Mul pairs replaced
};

SiluFusion fuse_silu(const std::string& model_proto);

}  // namespace classify
