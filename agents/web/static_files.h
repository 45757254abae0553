// The pages' files (static/), compiled into dutyhub-web so that what runs is what was
// built: nothing is read from disk at run time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dutyhub::web {

struct StaticFile {
  const char* path;  // as served: /static/app.js
  const char* content_type;
  std::string_view content;
};

const std::vector<StaticFile>& StaticFiles();
// REQUIRES: `path` is one of StaticFiles(); null otherwise.
const StaticFile* FindStaticFile(const std::string& path);

}  // namespace dutyhub::web
