#pragma once
// The emotion words of the project, each spelt here once: corpus labels are normalised to them
// (corpus.cpp), the six classes are among them, and the figures key their class colours on them
// (spectro/figures/figure.cpp).
namespace corpora::emotion {

inline constexpr char angry[] = "angry";
inline constexpr char disgust[] = "disgust";
inline constexpr char fear[] = "fear";
inline constexpr char happy[] = "happy";
inline constexpr char neutral[] = "neutral";
inline constexpr char sad[] = "sad";
inline constexpr char calm[] = "calm";
inline constexpr char surprised[] = "surprised";
inline constexpr char pleasant_surprise[] = "pleasant_surprise";
inline constexpr char boredom[] = "boredom";

}  // namespace corpora::emotion
