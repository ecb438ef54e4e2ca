#pragma once
// Classifier: runs a bundle's model.onnx with OpenCV DNN on spectrogram images. One instance per
// worker thread (a cv::dnn::Net is not shared). OpenCV types stay inside classifier.cpp.
#include <memory>
#include <vector>

#include "classify/bundle.hpp"
#include "spectro/image.hpp"

namespace classify {

class Classifier {
public:
    // Loads the network and runs one warm-up pass; throws emoclass::Error if OpenCV cannot read
    // the ONNX file or its output size differs from the bundle's label count.
    explicit Classifier(const ModelBundle& bundle);
    ~Classifier();
    Classifier(Classifier&&) noexcept;

    // Probabilities (summing to 1), one per label, for a rendered spectrogram image (any size:
    // it is resized bilinearly to the model's input when it differs).
    std::vector<float> classify(const spectro::Image& image);
    // The input tensor exactly as fed to the network (NCHW float), for tests and benches.
    std::vector<float> input_tensor(const spectro::Image& image) const;

    const ModelBundle& bundle() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// OpenCV DNN's threads for one forward pass (cv::setNumThreads); <= 0 leaves OpenCV's default.
void set_inference_threads(int threads);
std::string opencv_version();

}  // namespace classify
