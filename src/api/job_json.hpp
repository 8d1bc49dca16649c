// JobView <-> upstream's DefinedJob JSON, with upstream's key order.
#pragma once

#include <nlohmann/json.hpp>

#include "service/job_service.hpp"

namespace tjf::api {

// include_unset=true: every field with defaults filled in; false: the user-set fields plus
// name, cmd, imagename, image, job_type (and continuous: true).
nlohmann::ordered_json jobToJson(const service::JobView& view, bool include_unset);
nlohmann::ordered_json messagesToJson(const service::Messages& messages);
nlohmann::ordered_json runToJson(const model::RunRecord& run);

}  // namespace tjf::api
