#include "classify/explain.hpp"

#include "classify/result_format.hpp"
#include "spectro/figures/figure.hpp"

namespace classify {

std::vector<unsigned char> explain_figure(const ModelBundle& bundle, const Result& r, const spectro::MelMatrix& mel,
                                          double duration_s, const std::string& name, figures::FigureFormat format) {
    figures::InspectionFigure fig;
    fig.title = name + ": " +
                (r.emotion.empty() ? std::string("no speech found")
                                   : r.emotion + " " + format_number(100.0 * r.confidence, 1) + "%");
    fig.subtitle = format_number(duration_s, 2) + " s, model " + bundle.name + ", " +
                   std::to_string(r.voiced_windows()) + " of " + std::to_string(r.segments.size()) +
                   " windows voiced";
    fig.mel = &mel;
    fig.settings = bundle.spectro;
    fig.labels = r.labels;
    fig.probabilities.assign(r.probabilities.begin(), r.probabilities.end());
    if (r.segments.size() > 1) {
        for (const auto& s : r.segments) {
            figures::TimelineSegment t;
            t.start_s = s.start_s;
            t.end_s = s.end_s;
            if (const int best = s.emotion_index(); best >= 0) {
                t.label = r.labels[std::size_t(best)];
                t.confidence = s.probabilities[std::size_t(best)];
            }
            fig.timeline.push_back(t);
        }
    }
    return figures::render_inspection_figure(fig, name, format);
}

}  // namespace classify
