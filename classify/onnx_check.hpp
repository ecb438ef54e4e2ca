#pragma once
// A model bundle is code-like input: OpenCV 4.6's ONNX importer trusts the sizes written in the
// file (a crafted 25 KB model.onnx makes readNetFromONNX read 768 bytes past its buffer), and we
// cannot fix Debian's OpenCV. So every model.onnx is checked here before OpenCV sees it:
//   - the protobuf structure is well formed, every length inside its enclosing message;
//   - every tensor (initializers, Constant values, attribute tensors) holds exactly the bytes its
//     data type and dims need, in one storage field, with a bounded element count, no external
//     data and no sparse tensors;
//   - every node's operator is one a convolutional image classifier exported for OpenCV uses
//     (kAllowedOps in onnx_check.cpp), in the default ONNX domain, without subgraphs;
//   - bounded counts of nodes, tensors and attributes.
// This narrows what reaches OpenCV; it does not make an untrusted model safe to run: load only
// bundles you would run as code (docs/formats.md).
#include <string>

namespace classify {

// Throws emoclass::Error(subject, reason) naming the first problem found.
void check_onnx_model(const std::string& model_proto, const std::string& subject);

}  // namespace classify
