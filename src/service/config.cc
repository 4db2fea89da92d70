#include "service/config.h"

#include "rules/messages.h"

namespace ig::service {
namespace {

using nlohmann::json;

// A positive integer field, if present.
bool positive(const json& j, const char* name, std::int64_t& out, api::ConfigError& error, const char* where = "") {
  if (!j.contains(name)) return true;
  if (!j[name].is_number_integer() || j[name].get<std::int64_t>() <= 0) {
    error.message = fmt::format("\"{}{}\" must be a positive integer", where, name);
    return false;
  }
  out = j[name].get<std::int64_t>();
  return true;
}

bool string_field(const json& j, const char* name, std::string& out, api::ConfigError& error, const char* where) {
  if (!j.contains(name)) return true;
  if (!j[name].is_string()) {
    error.message = fmt::format("\"{}{}\" must be a string", where, name);
    return false;
  }
  out = j[name].get<std::string>();
  return true;
}

bool parse_storage(const json& j, WorkerConfig& w, api::ConfigError& error) {
  if (j.contains("object_storage_hosts")) {
    if (!j["object_storage_hosts"].is_array()) {
      error.message = "\"object_storage_hosts\" must be an array of \"host[:port]\" strings";
      return false;
    }
    for (const json& h : j["object_storage_hosts"]) {
      if (!h.is_string() || h.get<std::string>().empty()) {
        error.message = "\"object_storage_hosts\" must be an array of \"host[:port]\" strings";
        return false;
      }
      w.storage.push_back(StorageEndpoint{h, ""});
    }
  }
  if (j.contains("object_storage")) {
    if (!j["object_storage"].is_array()) {
      error.message = "\"object_storage\" must be an array of {\"host\", \"region\"}";
      return false;
    }
    for (const json& e : j["object_storage"]) {
      if (!e.is_object() || !e.contains("host") || !e["host"].is_string() || e["host"].get<std::string>().empty()) {
        error.message = "every \"object_storage\" entry needs a non-empty string \"host\"";
        return false;
      }
      StorageEndpoint s{e["host"], ""};
      if (!string_field(e, "region", s.region, error, "object_storage[].")) return false;
      w.storage.push_back(std::move(s));
    }
  }
  return true;
}

bool parse_notify(const json& j, NotifyConfig& n, api::ConfigError& error) {
  if (!j.contains("notify")) return true;
  const json& o = j["notify"];
  if (!o.is_object()) {
    error.message = "\"notify\" must be an object";
    return false;
  }
  for (const auto& [name, field] : {std::pair<const char*, std::string*>{"smtp_url", &n.smtp_url},
                                    {"mail_from", &n.mail_from},
                                    {"smtp_user", &n.smtp_user},
                                    {"smtp_password", &n.smtp_password}}) {
    if (!string_field(o, name, *field, error, "notify.")) return false;
  }
  if (!n.smtp_url.empty() && n.smtp_url.rfind("smtp://", 0) != 0 && n.smtp_url.rfind("smtps://", 0) != 0) {
    error.message = "\"notify.smtp_url\" must start with smtp:// or smtps://";
    return false;
  }
  if (!valid_mail_address(n.mail_from)) {
    error.message = "\"notify.mail_from\" must be an e-mail address";
    return false;
  }
  for (const auto& [name, field] : {std::pair<const char*, std::int64_t*>{"retry_min_seconds", &n.retry_min_seconds},
                                    {"retry_max_seconds", &n.retry_max_seconds},
                                    {"max_attempts", &n.max_attempts},
                                    {"timeout_seconds", &n.timeout_seconds},
                                    {"lease_seconds", &n.lease_seconds}}) {
    if (!positive(o, name, *field, error, "notify.")) return false;
  }
  if (n.lease_seconds <= n.timeout_seconds) {  // else a slow attempt is claimed again and sent twice
    error.message = "\"notify.lease_seconds\" must be above \"notify.timeout_seconds\"";
    return false;
  }
  if (n.retry_max_seconds < n.retry_min_seconds) {
    error.message = "\"notify.retry_max_seconds\" must not be below \"notify.retry_min_seconds\"";
    return false;
  }
  return true;
}

// "http": {"max_body_bytes", "request_memory_bytes", "max_connections", "idle_timeout_seconds"}.
bool parse_http(const json& j, HttpLimits& h, api::ConfigError& error) {
  if (!j.contains("http")) return true;
  const json& o = j["http"];
  if (!o.is_object()) {
    error.message = "\"http\" must be an object";
    return false;
  }
  std::int64_t body = static_cast<std::int64_t>(h.max_body);
  std::int64_t memory = static_cast<std::int64_t>(h.request_memory);
  std::int64_t connections = h.max_connections;
  std::int64_t idle = h.idle_timeout_seconds;
  if (!positive(o, "max_body_bytes", body, error, "http.") ||
      !positive(o, "request_memory_bytes", memory, error, "http.") ||
      !positive(o, "max_connections", connections, error, "http.") ||
      !positive(o, "idle_timeout_seconds", idle, error, "http.")) {
    return false;
  }
  if (memory < body) {  // else a body within the limit could never be held
    error.message = "\"http.request_memory_bytes\" must not be below \"http.max_body_bytes\"";
    return false;
  }
  if (connections > 65536 || idle > 86400) {
    error.message = "\"http.max_connections\" must be at most 65536 and \"http.idle_timeout_seconds\" at most 86400";
    return false;
  }
  h.max_body = static_cast<std::size_t>(body);
  h.request_memory = static_cast<std::size_t>(memory);
  h.max_connections = static_cast<unsigned>(connections);
  h.idle_timeout_seconds = static_cast<unsigned>(idle);
  return true;
}

// "catalog": a SQLite file or a postgresql:// URL; "image_store": {"location": DIR or
// "s3://bucket/prefix", "endpoint", "region", "access_key", "secret_key", "part_size_bytes"}.
bool parse_backends(const json& j, const std::string& data_dir, ServiceConfig& c, api::ConfigError& error) {
  c.catalog = data_dir + "/catalog.sqlite";
  c.store.location = data_dir + "/images";
  if (!string_field(j, "catalog", c.catalog, error, "")) return false;
  if (c.catalog.empty()) {
    error.message = "\"catalog\" must be a SQLite file or a postgresql:// URL";
    return false;
  }
  if (!j.contains("image_store")) return true;
  const json& o = j["image_store"];
  if (!o.is_object()) {
    error.message = "\"image_store\" must be an object with \"location\" (a directory or s3://bucket/prefix)";
    return false;
  }
  for (const auto& [name, field] : {std::pair<const char*, std::string*>{"location", &c.store.location},
                                    {"endpoint", &c.store.endpoint},
                                    {"region", &c.store.region},
                                    {"access_key", &c.store.access_key},
                                    {"secret_key", &c.store.secret_key}}) {
    if (!string_field(o, name, *field, error, "image_store.")) return false;
  }
  std::int64_t part = static_cast<std::int64_t>(c.store.part_size_bytes);
  if (!positive(o, "part_size_bytes", part, error, "image_store.")) return false;
  c.store.part_size_bytes = static_cast<std::uint64_t>(part);
  if (c.store.location.starts_with("s3://") && c.store.endpoint.empty()) {
    error.message = "\"image_store.endpoint\" is needed for an s3:// location";
    return false;
  }
  return true;
}

}  // namespace

std::optional<ServiceConfig> parse_service_config(const json& j, const std::string& data_dir, api::ConfigError& error) {
  ServiceConfig c;
  auto api = api::parse_api_config(j, error);
  if (!api) return std::nullopt;
  c.api = std::move(*api);
  for (const api::Account& a : c.api.accounts) {
    if (!parse_lang(a.language)) {
      error.message =
          fmt::format("account {}: \"language\" '{}' is not one of en, zh, ja, id, pt", a.secret_id, a.language);
      return std::nullopt;
    }
  }
  c.worker.data_dir = data_dir;
  if (!parse_storage(j, c.worker, error) || !parse_notify(j, c.notify, error) || !parse_http(j, c.http, error) ||
      !parse_backends(j, data_dir, c, error)) {
    return std::nullopt;
  }
  std::int64_t max_download = static_cast<std::int64_t>(c.worker.max_download_bytes);
  if (!positive(j, "max_download_bytes", max_download, error) ||
      !positive(j, "image_quota", c.limits.image_quota, error) ||
      !positive(j, "subscription_quota", c.limits.subscription_quota, error) ||
      !positive(j, "share_quota", c.limits.share_quota, error) ||
      !positive(j, "task_lease_seconds", c.worker.lease_seconds, error)) {
    return std::nullopt;
  }
  c.worker.max_download_bytes = static_cast<std::uint64_t>(max_download);
  if (j.contains("unverified_images")) {
    const json& u = j["unverified_images"];
    if (!u.is_string() || (u != "refuse" && u != "import")) {
      error.message = "\"unverified_images\" must be \"refuse\" or \"import\"";
      return std::nullopt;
    }
    c.worker.import_unverified = u == "import";
  }
  return c;
}

}  // namespace ig::service
