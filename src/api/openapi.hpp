// The OpenAPI 3 document of tjfd's HTTP API, served at GET /openapi.json (unauthenticated, as
// upstream). It describes every route api.cpp serves and every body shape job_json.cpp and
// api.cpp produce; tests/integration/api_test.cpp checks real responses of a running daemon
// against it, so a change of a shape that is not also made here fails that test.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace tjf::api {

// The document, with `version` as info.version. Built once per call; cheap enough for a route
// that clients fetch rarely.
nlohmann::ordered_json openApiDocument(std::string_view version);

}  // namespace tjf::api
