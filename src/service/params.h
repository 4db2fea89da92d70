// The parameters of an action, declared once: a schema of names, JSON types and whether each is
// required, checked in one place before any handler runs (issue 13, point 4).
//
// check_params() refuses a parameter the schema does not name (UnknownParameter, naming it and
// where it sits, e.g. "ImportImageDataDisks" or "Filters.0.Nme"), a value of the wrong JSON type
// (InvalidParameter: `DryRun: "yes"` is not a boolean) and a missing required one
// (MissingParameter). A null value counts as absent. Nested objects (Filters, TagSpecification,
// ImportImageDataDiskList) are checked field by field with their own schemas.
//
// A GET query carries only strings: with_schema() first converts them where the schema declares
// an integer or a boolean ("10", "true"), then checks; a JSON body is checked as it is.
// Schemas are static data; the checker has no state and is thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>

#include "api/server.h"

namespace ig::service {

enum class ParamType {
  kString,
  kInteger,
  kBoolean,
  kStringList,
  kObjectList,  // a list of objects, each checked against `fields`
};

struct ParamSpec {
  std::string_view name;
  ParamType type;
  bool required = false;
  std::span<const ParamSpec> fields = {};  // for kObjectList
};

// Nothing when `params` (a JSON object) fits `schema`; the error reply otherwise.
std::optional<api::Reply> check_params(const nlohmann::json& params, std::span<const ParamSpec> schema);

// `handler` behind the check of its schema: the one way actions are registered.
api::Handler with_schema(std::span<const ParamSpec> schema, api::Handler handler);

}  // namespace ig::service
