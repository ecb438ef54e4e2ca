#include "classify/classifier.hpp"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/shape_utils.hpp>
#include <opencv2/imgproc.hpp>

#include "classify/onnx_check.hpp"
#include "classify/silu_fusion.hpp"
#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

namespace classify {

struct Classifier::Impl {
    ModelBundle bundle;
    cv::dnn::Net net;
    cv::Mat blob;  // 1 x C x H x W float, reused across calls
};

namespace {

// Pixels -> the bundle's input layout: resize if needed, gray replicated to 3 channels, optional
// BGR order, then (pixel * scale - mean) / std per channel, planar NCHW.
void fill_tensor(const ModelBundle& b, const spectro::Image& image, float* out) {
    const InputRecipe& r = b.input;
    if (image.channels != 1 && image.channels != 3) throw emoclass::Error("image", "unsupported channel count");
    cv::Mat src(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
                const_cast<std::uint8_t*>(image.pixels.data()));
    cv::Mat sized = src;
    if (image.width != r.width || image.height != r.height)
        cv::resize(src, sized, cv::Size(r.width, r.height), 0, 0, cv::INTER_LINEAR);
    const std::size_t plane = std::size_t(r.width) * r.height;
    for (int c = 0; c < r.channels; ++c) {
        // Source channel: RGB images are stored R,G,B; BGR models want them reversed.
        int sc = sized.channels() == 1 ? 0 : (r.bgr ? 2 - c : c);
        if (r.channels == 1 && sized.channels() == 3) sc = -1;  // gray model on an RGB image: luma
        const float scale = float(r.scale), mean = float(r.mean[size_t(c)]), inv_std = float(1.0 / r.std[size_t(c)]);
        float* dst = out + size_t(c) * plane;
        for (int y = 0; y < r.height; ++y) {
            const std::uint8_t* row = sized.ptr<std::uint8_t>(y);
            for (int x = 0; x < r.width; ++x) {
                float v;
                if (sc < 0) {
                    const std::uint8_t* p = row + x * 3;
                    v = std::round(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
                } else {
                    v = row[x * sized.channels() + sc];
                }
                dst[size_t(y) * r.width + size_t(x)] = (v * scale - mean) * inv_std;
            }
        }
    }
}

}  // namespace

Classifier::Classifier(const ModelBundle& bundle) : impl_(std::make_unique<Impl>()) {
    impl_->bundle = bundle;
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);  // the library never prints
    std::string onnx = spectro::read_file(bundle.onnx_path());
    // OpenCV's importer trusts the sizes in the file (classify/onnx_check.hpp): check first.
    check_onnx_model(onnx, bundle.onnx_path());
    // SiLU as OpenCV's fused Swish layer: same function, a quarter less inference time here
    // (docs/benchmarks.md). The file on disk stays standard ONNX.
    const SiluFusion fusion = fuse_silu(onnx);
    std::string().swap(onnx);  // one copy of the model in memory while OpenCV parses it
    try {
        impl_->net = cv::dnn::readNetFromONNX(fusion.model.data(), fusion.model.size());
    } catch (const cv::Exception& e) {
        std::string msg = e.err.empty() ? e.what() : e.err;
        throw emoclass::Error(bundle.onnx_path(), "OpenCV DNN cannot read this ONNX model: " + msg);
    }
    if (impl_->net.empty()) throw emoclass::Error(bundle.onnx_path(), "OpenCV DNN loaded an empty network");
    impl_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    impl_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    const int dims[4] = {1, bundle.input.channels, bundle.input.height, bundle.input.width};
    impl_->blob.create(4, dims, CV_32F);
    // The input shape is checked by OpenCV's shape inference, not by a warm-up forward: the same
    // proof (the network accepts the input, one output value per label) without running the
    // network once more in every process (the first real forward sets the network up).
    std::size_t outputs = 0;
    try {
        const cv::dnn::MatShape input_shape(dims, dims + 4);
        std::vector<cv::dnn::MatShape> in_shapes, out_shapes;
        const std::vector<int> last = impl_->net.getUnconnectedOutLayers();
        if (last.size() != 1) throw cv::Exception(cv::Error::StsError, "the network has " + std::to_string(last.size()) + " outputs, not one", "", "", 0);
        impl_->net.getLayerShapes(input_shape, last[0], in_shapes, out_shapes);
        if (out_shapes.empty()) throw cv::Exception(cv::Error::StsError, "no output shape", "", "", 0);
        outputs = std::size_t(cv::dnn::total(out_shapes[0]));
    } catch (const cv::Exception& e) {
        throw emoclass::Error(bundle.onnx_path(), "the model rejects a 1x" + std::to_string(dims[1]) + "x" +
                                                     std::to_string(dims[2]) + "x" + std::to_string(dims[3]) +
                                                     " input: " + (e.err.empty() ? e.what() : e.err));
    }
    if (outputs != bundle.labels.size())
        throw emoclass::Error(bundle.dir, "the model outputs " + std::to_string(outputs) + " values but model.json has " +
                                             std::to_string(bundle.labels.size()) + " labels");
}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;

const ModelBundle& Classifier::bundle() const { return impl_->bundle; }

std::vector<float> Classifier::input_tensor(const spectro::Image& image) const {
    const InputRecipe& r = impl_->bundle.input;
    std::vector<float> t(size_t(r.channels) * r.height * r.width);
    fill_tensor(impl_->bundle, image, t.data());
    return t;
}

std::vector<float> Classifier::classify(const spectro::Image& image) {
    fill_tensor(impl_->bundle, image, impl_->blob.ptr<float>());
    cv::Mat out;
    try {
        impl_->net.setInput(impl_->blob);
        out = impl_->net.forward();
    } catch (const cv::Exception& e) {
        throw emoclass::Error(impl_->bundle.onnx_path(), "OpenCV DNN failed: " + (e.err.empty() ? std::string(e.what()) : e.err));
    }
    const float* v = out.ptr<float>();
    std::vector<float> p(v, v + out.total());
    if (!impl_->bundle.outputs_probabilities) {
        const float top = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (float& x : p) sum += (x = std::exp(x - top));
        for (float& x : p) x = float(x / sum);
    }
    return p;
}

void set_inference_threads(int threads) {
    if (threads > 0) cv::setNumThreads(threads);
}

std::string opencv_version() { return cv::getVersionString(); }

}  // namespace classify
