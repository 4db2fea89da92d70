#include "service/config.h"

#include "base/bytes.h"
#include "text/messages.h"

namespace ig::service {
namespace {

using nlohmann::json;

// A positive integer field, if present.
Result<void> positive(const json& j, const char* name, std::int64_t& out, const char* where = "") {
  if (!j.contains(name)) return {};
  if (!j[name].is_number_integer() || j[name].get<std::int64_t>() <= 0) {
    return Error::invalid_argument(fmt::format("\"{}{}\" must be a positive integer", where, name));
  }
  out = j[name].get<std::int64_t>();
  return {};
}

Result<void> string_field(const json& j, const char* name, std::string& out, const char* where) {
  if (!j.contains(name)) return {};
  if (!j[name].is_string()) {
    return Error::invalid_argument(fmt::format("\"{}{}\" must be a string", where, name));
  }
  out = j[name].get<std::string>();
  return {};
}

Result<void> parse_storage(const json& j, WorkerConfig& w) {
  if (j.contains("object_storage_hosts")) {
    if (!j["object_storage_hosts"].is_array()) {
      return Error::invalid_argument("\"object_storage_hosts\" must be an array of \"host[:port]\" strings");
    }
    for (const json& h : j["object_storage_hosts"]) {
      if (!h.is_string() || h.get<std::string>().empty()) {
        return Error::invalid_argument("\"object_storage_hosts\" must be an array of \"host[:port]\" strings");
      }
      w.storage.push_back(StorageEndpoint{h, ""});
    }
  }
  if (j.contains("object_storage")) {
    if (!j["object_storage"].is_array()) {
      return Error::invalid_argument("\"object_storage\" must be an array of {\"host\", \"region\"}");
    }
    for (const json& e : j["object_storage"]) {
      if (!e.is_object() || !e.contains("host") || !e["host"].is_string() || e["host"].get<std::string>().empty()) {
        return Error::invalid_argument("every \"object_storage\" entry needs a non-empty string \"host\"");
      }
      StorageEndpoint s{e["host"], ""};
      IG_TRY(string_field(e, "region", s.region, "object_storage[]."));
      w.storage.push_back(std::move(s));
    }
  }
  return {};
}

Result<void> parse_notify(const json& j, NotifyConfig& n) {
  if (!j.contains("notify")) return {};
  const json& o = j["notify"];
  if (!o.is_object()) {
    return Error::invalid_argument("\"notify\" must be an object");
  }
  for (const auto& [name, field] : {std::pair<const char*, std::string*>{"smtp_url", &n.smtp_url},
                                    {"mail_from", &n.mail_from},
                                    {"smtp_user", &n.smtp_user},
                                    {"smtp_password", &n.smtp_password}}) {
    IG_TRY(string_field(o, name, *field, "notify."));
  }
  if (!n.smtp_url.empty() && n.smtp_url.rfind("smtp://", 0) != 0 && n.smtp_url.rfind("smtps://", 0) != 0) {
    return Error::invalid_argument("\"notify.smtp_url\" must start with smtp:// or smtps://");
  }
  if (!valid_mail_address(n.mail_from)) {
    return Error::invalid_argument("\"notify.mail_from\" must be an e-mail address");
  }
  for (const auto& [name, field] : {std::pair<const char*, std::int64_t*>{"retry_min_seconds", &n.retry_min_seconds},
                                    {"retry_max_seconds", &n.retry_max_seconds},
                                    {"max_attempts", &n.max_attempts},
                                    {"timeout_seconds", &n.timeout_seconds},
                                    {"lease_seconds", &n.lease_seconds}}) {
    IG_TRY(positive(o, name, *field, "notify."));
  }
  if (n.lease_seconds <= n.timeout_seconds) {  // else a slow attempt is claimed again and sent twice
    return Error::invalid_argument("\"notify.lease_seconds\" must be above \"notify.timeout_seconds\"");
  }
  if (n.retry_max_seconds < n.retry_min_seconds) {
    return Error::invalid_argument("\"notify.retry_max_seconds\" must not be below \"notify.retry_min_seconds\"");
  }
  return {};
}

// "http": {"max_body_bytes", "request_memory_bytes", "max_connections", "idle_timeout_seconds"}.
Result<void> parse_http(const json& j, HttpLimits& h) {
  if (!j.contains("http")) return {};
  const json& o = j["http"];
  if (!o.is_object()) {
    return Error::invalid_argument("\"http\" must be an object");
  }
  std::int64_t body = static_cast<std::int64_t>(h.max_body);
  std::int64_t memory = static_cast<std::int64_t>(h.request_memory);
  std::int64_t connections = h.max_connections;
  std::int64_t idle = h.idle_timeout_seconds;
  IG_TRY(positive(o, "max_body_bytes", body, "http."));
  IG_TRY(positive(o, "request_memory_bytes", memory, "http."));
  IG_TRY(positive(o, "max_connections", connections, "http."));
  IG_TRY(positive(o, "idle_timeout_seconds", idle, "http."));
  if (memory < body) {  // else a body within the limit could never be held
    return Error::invalid_argument("\"http.request_memory_bytes\" must not be below \"http.max_body_bytes\"");
  }
  if (connections > 65536 || idle > 86400) {
    return Error::invalid_argument(
        "\"http.max_connections\" must be at most 65536 and \"http.idle_timeout_seconds\" at most 86400");
  }
  h.max_body = static_cast<std::size_t>(body);
  h.request_memory = static_cast<std::size_t>(memory);
  h.max_connections = static_cast<unsigned>(connections);
  h.idle_timeout_seconds = static_cast<unsigned>(idle);
  return {};
}

// "catalog": a SQLite file or a postgresql:// URL; "image_store": {"location": DIR or
// "s3://bucket/prefix", "endpoint", "region", "access_key", "secret_key", "part_size_bytes"}.
Result<void> parse_backends(const json& j, const std::string& data_dir, ServiceConfig& c) {
  c.catalog = data_dir + "/catalog.sqlite";
  c.store.location = data_dir + "/images";
  IG_TRY(string_field(j, "catalog", c.catalog, ""));
  if (c.catalog.empty()) {
    return Error::invalid_argument("\"catalog\" must be a SQLite file or a postgresql:// URL");
  }
  if (!j.contains("image_store")) return {};
  const json& o = j["image_store"];
  if (!o.is_object()) {
    return Error::invalid_argument(
        "\"image_store\" must be an object with \"location\" (a directory or s3://bucket/prefix)");
  }
  for (const auto& [name, field] : {std::pair<const char*, std::string*>{"location", &c.store.location},
                                    {"endpoint", &c.store.endpoint},
                                    {"region", &c.store.region},
                                    {"access_key", &c.store.access_key},
                                    {"secret_key", &c.store.secret_key}}) {
    IG_TRY(string_field(o, name, *field, "image_store."));
  }
  std::int64_t part = static_cast<std::int64_t>(c.store.part_size_bytes);
  IG_TRY(positive(o, "part_size_bytes", part, "image_store."));
  c.store.part_size_bytes = static_cast<std::uint64_t>(part);
  if (c.store.location.starts_with("s3://") && c.store.endpoint.empty()) {
    return Error::invalid_argument("\"image_store.endpoint\" is needed for an s3:// location");
  }
  return {};
}

// "sandbox": {"memory_bytes", "cpu_seconds", "wall_seconds", "output_bytes"}: the budgets of
// the child every import's read runs in (base/limits.h, docs/security.md).
Result<void> parse_sandbox(const json& j, Limits& l) {
  if (!j.contains("sandbox")) return {};
  const json& o = j["sandbox"];
  if (!o.is_object()) {
    return Error::invalid_argument(
        "\"sandbox\" must be an object with \"memory_bytes\", \"cpu_seconds\", \"wall_seconds\" or "
        "\"output_bytes\"");
  }
  for (const auto& [name, field] : {std::pair<const char*, std::uint64_t*>{"memory_bytes", &l.sandbox_memory_bytes},
                                    {"cpu_seconds", &l.sandbox_cpu_seconds},
                                    {"wall_seconds", &l.sandbox_wall_seconds},
                                    {"output_bytes", &l.sandbox_output_bytes}}) {
    auto value = static_cast<std::int64_t>(*field);
    IG_TRY(positive(o, name, value, "sandbox."));
    *field = static_cast<std::uint64_t>(value);
  }
  for (const auto& [name, _] : o.items()) {
    if (name != "memory_bytes" && name != "cpu_seconds" && name != "wall_seconds" && name != "output_bytes") {
      return Error::invalid_argument(
          fmt::format("\"sandbox.{}\" is not a sandbox budget (memory_bytes, "
                      "cpu_seconds, wall_seconds, output_bytes)",
                      printable(name)));
    }
  }
  // The child needs room for the readers' own tables and buffers.
  if (l.sandbox_memory_bytes < (std::uint64_t{64} << 20)) {
    return Error::invalid_argument("\"sandbox.memory_bytes\" must be at least 67108864 (64 MiB)");
  }
  return {};
}

}  // namespace

Result<ServiceConfig> parse_service_config(const json& j, const std::string& data_dir) {
  ServiceConfig c;
  c.api = IG_TRY(api::parse_api_config(j));
  for (const api::Account& a : c.api.accounts) {
    if (!parse_lang(a.language)) {
      return Error::invalid_argument(
          fmt::format("account {}: \"language\" '{}' is not one of en, zh, ja, id, pt", a.secret_id, a.language));
    }
  }
  c.worker.data_dir = data_dir;
  IG_TRY(parse_storage(j, c.worker));
  IG_TRY(parse_notify(j, c.notify));
  IG_TRY(parse_http(j, c.http));
  IG_TRY(parse_backends(j, data_dir, c));
  IG_TRY(parse_sandbox(j, c.worker.limits));
  std::int64_t max_download = static_cast<std::int64_t>(c.worker.max_download_bytes);
  IG_TRY(positive(j, "max_download_bytes", max_download));
  IG_TRY(positive(j, "image_quota", c.limits.image_quota));
  IG_TRY(positive(j, "subscription_quota", c.limits.subscription_quota));
  IG_TRY(positive(j, "share_quota", c.limits.share_quota));
  IG_TRY(positive(j, "task_lease_seconds", c.worker.lease_seconds));
  IG_TRY(positive(j, "download_stall_seconds", c.worker.stall_seconds));
  c.worker.max_download_bytes = static_cast<std::uint64_t>(max_download);
  if (j.contains("unverified_images")) {
    const json& u = j["unverified_images"];
    if (!u.is_string() || (u != "refuse" && u != "import")) {
      return Error::invalid_argument("\"unverified_images\" must be \"refuse\" or \"import\"");
    }
    c.worker.import_unverified = u == "import";
  }
  return c;
}

}  // namespace ig::service
