#include "service/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace ig::service {
namespace {

using api::Reply;
using nlohmann::json;

const char* type_name(ParamType t) {
  switch (t) {
    case ParamType::kString: return "a string";
    case ParamType::kInteger: return "an integer";
    case ParamType::kBoolean: return "a boolean (true or false)";
    case ParamType::kStringList: return "a list of strings";
    case ParamType::kObjectList: return "a list of objects";
  }
  return "?";
}

// Names from the request are untrusted text: quoted, and cut to a length a message can carry.
std::string shown(std::string_view name) {
  return std::string(name.substr(0, 64));
}

std::optional<Reply> check_object(const json& object, std::span<const ParamSpec> schema, const std::string& where,
                                  int depth);

std::optional<Reply> check_value(const json& v, const ParamSpec& spec, const std::string& path, int depth) {
  bool fits = false;
  switch (spec.type) {
    case ParamType::kString: fits = v.is_string(); break;
    case ParamType::kInteger: fits = v.is_number_integer(); break;
    case ParamType::kBoolean: fits = v.is_boolean(); break;
    case ParamType::kStringList:
      fits = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
      break;
    case ParamType::kObjectList:
      fits = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_object(); });
      break;
  }
  if (!fits) {
    return Reply::error("InvalidParameter", {"api.parameter-type", {path, type_name(spec.type), v.type_name()}});
  }
  if (spec.type == ParamType::kObjectList) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (auto e = check_object(v[i], spec.fields, fmt::format("{}.{}.", path, i), depth + 1)) return e;
    }
  }
  return std::nullopt;
}

std::optional<Reply> check_object(const json& object, std::span<const ParamSpec> schema, const std::string& where,
                                  int depth) {
  // Schemas nest two levels (TagSpecification.N.Tags.M); anything deeper is not ours.
  if (depth > 4) return Reply::error("InvalidParameter", {"api.parameter-too-deep", {where}});
  for (const auto& item : object.items()) {
    const std::string& name = item.key();
    const json& value = item.value();
    const auto spec = std::find_if(schema.begin(), schema.end(), [&](const ParamSpec& s) { return s.name == name; });
    if (spec == schema.end()) {
      return Reply::error("UnknownParameter", {"api.parameter-unknown", {where + shown(name)}});
    }
    if (value.is_null()) continue;
    if (auto e = check_value(value, *spec, where + std::string(spec->name), depth)) return e;
  }
  for (const ParamSpec& s : schema) {
    if (s.required && (!object.contains(s.name) || object[std::string(s.name)].is_null())) {
      return Reply::error("MissingParameter", {"api.parameter-required", {where + std::string(s.name)}});
    }
  }
  return std::nullopt;
}

// `object` from a GET query with its strings converted where `schema` declares an integer or a
// boolean ("10", "true"); what does not convert stays a string for the checker to refuse.
json typed_from_query(const json& object, std::span<const ParamSpec> schema, int depth) {
  if (!object.is_object() || depth > 4) return object;
  json out = object;
  for (auto item : out.items()) {
    const std::string name = item.key();
    json& value = item.value();
    const auto spec = std::find_if(schema.begin(), schema.end(), [&](const ParamSpec& s) { return s.name == name; });
    if (spec == schema.end() || !value.is_string()) {
      if (spec != schema.end() && spec->type == ParamType::kObjectList && value.is_array()) {
        for (json& e : value) e = typed_from_query(e, spec->fields, depth + 1);
      }
      continue;
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (spec->type == ParamType::kBoolean && (text == "true" || text == "false")) {
      value = text == "true";
    } else if (spec->type == ParamType::kInteger) {
      std::int64_t n = 0;
      const char* end = text.data() + text.size();
      if (auto [p, ec] = std::from_chars(text.data(), end, n); !text.empty() && ec == std::errc() && p == end)
        value = n;
    }
  }
  return out;
}

}  // namespace

std::optional<Reply> check_params(const json& params, std::span<const ParamSpec> schema) {
  if (params.is_null()) return check_object(json::object(), schema, "", 0);
  if (!params.is_object()) return Reply::error("InvalidParameter", {"api.parameters-not-object", {}});
  return check_object(params, schema, "", 0);
}

api::Handler with_schema(std::span<const ParamSpec> schema, api::Handler handler) {
  return [schema, handler = std::move(handler)](const api::Call& c) {
    if (!c.from_query) {
      if (auto error = check_params(c.params, schema)) return *error;
      return handler(c);
    }
    api::Call typed = c;
    typed.params = typed_from_query(c.params, schema, 0);
    if (auto error = check_params(typed.params, schema)) return *error;
    return handler(typed);
  };
}

}  // namespace ig::service
