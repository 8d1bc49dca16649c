// The bytes a client sends on a connection: Beast's request parser with the server's limits,
// then the conversion every session runs (api/http_parse.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/http_parse.hpp"
#include "api/http_status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto request = tjf::api::parseRequest(bytes)) {
    // What the routing reads next: the query, already decoded, must decode again harmlessly.
    for (const auto& [key, value] : request->query) (void)tjf::api::parseQuery(key + "=" + value);
  }
  (void)tjf::api::parseQuery(bytes);
  return 0;
}
