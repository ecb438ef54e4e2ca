#pragma once
// The web page, the /docs page and the OpenAPI description (classify/tools/web), embedded into the
// binary at build time by classify/tools/web/embed.cmake, so `emoclass serve` needs no files
// beside it and the page works offline.
#include <cstddef>
#include <string>

namespace classify::web {

struct Asset {
    const char* name;          // file name in classify/tools/web, e.g. "index.html"
    const char* content_type;  // from the extension
    const unsigned char* data;
    std::size_t size;
};

// nullptr when no embedded file has that name.
const Asset* find_asset(const std::string& name);

}  // namespace classify::web
