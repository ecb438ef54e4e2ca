#pragma once
// The one error type of every emoclass library, in a namespace of its own so that a server or
// model error is not a "spectro" error. It carries the file (or other subject, e.g. "model.json"
// or "<request body>") and the reason, so a tool can print "FILE: reason" on one line and carry
// on with the rest of a batch.
#include <stdexcept>
#include <string>

namespace emoclass {

class Error : public std::runtime_error {
public:
    Error(std::string subject, std::string reason)
        : std::runtime_error(subject.empty() ? reason : subject + ": " + reason),
          subject_(std::move(subject)), reason_(std::move(reason)) {}
    const std::string& subject() const { return subject_; }
    const std::string& reason() const { return reason_; }

private:
    std::string subject_;
    std::string reason_;
};

}  // namespace emoclass
