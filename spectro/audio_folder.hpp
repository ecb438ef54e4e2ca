#pragma once
// Folder scans for the tools: every file in a folder (recursively) that one of AudioReader's
// decoders reads, and, for the rest, why it was left out.
#include <string>
#include <utility>
#include <vector>

namespace spectro {

struct FolderScan {
    std::vector<std::string> files;                              // sorted
    std::vector<std::pair<std::string, std::string>> skipped;    // (file, reason), sorted
};

// Files with an extension libsndfile reads (.wav .flac .ogg .opus .mp3 .aif .aiff .au) are taken
// as they are: a broken one is reported when it is analysed, like any other input. Every other
// file is opened (libsndfile, then FFmpeg) and taken if either decoder reads it as audio, whatever
// its name (an .m4a, a .webm, a voice memo without an extension); otherwise it is skipped with
// the decoder's reason. Hidden files and folders (".name") are passed over without a word.
// Throws spectro::Error(root, reason) when root is not a readable folder.
FolderScan scan_audio_folder(const std::string& root);

}  // namespace spectro
