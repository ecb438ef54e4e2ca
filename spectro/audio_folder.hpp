#pragma once
// Folder scans for the tools: every file in a folder (recursively) that one of AudioReader's
// decoders reads, and, for the rest, why it was left out; or the audio files by extension alone.
#include <string>
#include <utility>
#include <vector>

namespace spectro {

// Every regular file under a folder, recursively, and what could not be looked at.
struct FolderWalk {
    std::vector<std::string> files;                              // sorted
    // (path, reason), sorted: a subfolder that cannot be opened (permissions), and an entry that
    // is neither a file nor a folder (a FIFO, socket or device, a broken symbolic link). These
    // are errors, not "not audio": a batch names each and ends with a failing exit status.
    std::vector<std::pair<std::string, std::string>> errors;
};

// Symbolic links to folders are not followed (no loops); links to files count as files. With
// skip_hidden, entries named ".name" (and everything in such folders) are passed over.
// Throws emoclass::Error(root, reason) when root is not a readable folder.
FolderWalk walk_folder(const std::string& root, bool skip_hidden);

struct FolderScan {
    std::vector<std::string> files;                              // sorted
    std::vector<std::pair<std::string, std::string>> skipped;    // (file, reason), sorted
    std::vector<std::pair<std::string, std::string>> errors;     // as FolderWalk::errors
};

// Audio files under `root` (recursively, sorted), by extension: wav, flac, ogg, opus, mp3, aif(f), au.
// What cannot be looked at (FolderWalk::errors) goes to `errors` when given, else is passed over.
std::vector<std::string> list_audio_files(const std::string& root,
                                          std::vector<std::pair<std::string, std::string>>* errors = nullptr);
bool has_audio_extension(const std::string& path);

// Files with an extension libsndfile reads (.wav .flac .ogg .opus .mp3 .aif .aiff .au) are taken
// as they are: a broken one is reported when it is analysed, like any other input. Every other
// file is opened (libsndfile, then FFmpeg) and taken if either decoder reads it as audio, whatever
// its name (an .m4a, a .webm, a voice memo without an extension); otherwise it is skipped with
// the decoder's reason. Hidden files and folders (".name") are passed over without a word; what
// cannot be looked at is in `errors` (see FolderWalk).
// Throws emoclass::Error(root, reason) when root is not a readable folder.
FolderScan scan_audio_folder(const std::string& root);

}  // namespace spectro
