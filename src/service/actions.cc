#include "service/actions.h"

#include <openssl/rand.h>

#include <algorithm>

#include "api/os_list.h"
#include "base/text.h"
#include "rules/messages.h"
#include "service/notify.h"
#include "service/params.h"
#include "service/runtime.h"
#include "service/worker.h"

namespace ig::service {
namespace {

using api::Call;
using api::Reply;
using nlohmann::json;
using nlohmann::ordered_json;

std::string account_of(const Call& c) {
  return c.account->app_id.empty() ? c.account->secret_id : c.account->app_id;
}

// A string parameter: nothing when absent; an error reply when present but not a string.
std::optional<std::string> str(const json& p, const char* name, std::optional<Reply>& error) {
  if (!p.contains(name) || p[name].is_null()) return std::nullopt;
  if (!p[name].is_string()) {
    error = Reply::error("InvalidParameter", {"api.not-string", {name}});
    return std::nullopt;
  }
  return p[name].get<std::string>();
}

// Lengths are counted in characters (UTF-8 code points), as the cloud counts them: a
// 30-character Chinese name is 90 bytes but 30 characters.
std::size_t characters(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}

// An image id as the cloud writes it: "img-" and 8 lower-case letters or digits.
bool well_formed_image_id(const std::string& id) {
  return id.size() == 12 && id.starts_with("img-") && std::all_of(id.begin() + 4, id.end(), [](char ch) {
           return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
         });
}

// The architecture as DescribeImages writes it: the request's "arm_64" is "arm" there.
std::string reported_architecture(const std::string& requested) {
  if (requested == "arm_64" || requested == "arm64" || requested == "aarch64") return "arm";
  return requested;
}

bool boolean(const json& p, const char* name) {
  if (!p.contains(name)) return false;
  if (p[name].is_boolean()) return p[name].get<bool>();
  if (p[name].is_string()) return p[name] == "true";
  return false;
}

// An object of `fields` keys, each appended once in the order given: ordered_json's own insert
// looks for the key among those already there and grows the object one key at a time, which
// made building a page of images cost more than reading it (docs/performance.md).
class ObjectBuilder {
 public:
  explicit ObjectBuilder(std::size_t fields) : j_(ordered_json::object()) {
    j_.get_ref<ordered_json::object_t&>().reserve(fields);
  }
  template <class V>
  ObjectBuilder& add(const char* key, V&& value) {
    j_.get_ref<ordered_json::object_t&>().emplace_back(key, std::forward<V>(value));
    return *this;
  }
  ordered_json take() { return std::move(j_); }

 private:
  ordered_json j_;
};

ordered_json image_json(const catalog::Image& i) {
  ordered_json tags = ordered_json::array();
  for (const catalog::Tag& t : i.tags) tags.push_back(ObjectBuilder(2).add("Key", t.key).add("Value", t.value).take());
  // A whole-machine image: its system disk, then the data disks imported with it.
  ordered_json snapshots = ordered_json::array();
  if (i.state == "NORMAL") {
    const std::string suffix = i.image_id.substr(4);
    snapshots.push_back(ObjectBuilder(3)
                            .add("SnapshotId", fmt::format("snap-{}-0", suffix))
                            .add("DiskUsage", "SYSTEM_DISK")
                            .add("DiskSize", i.size_gib)
                            .take());
    for (const catalog::DataDisk& d : i.data_disks) {
      snapshots.push_back(ObjectBuilder(3)
                              .add("SnapshotId", fmt::format("snap-{}-{}", suffix, d.index + 1))
                              .add("DiskUsage", "DATA_DISK")
                              .add("DiskSize", d.size_gib)
                              .take());
    }
  }
  // 20 fields, and room for the three image_json_with_outcome may add.
  return ObjectBuilder(23)
      .add("ImageId", i.image_id)
      .add("OsName", i.os_name + (i.os_version == "-" || i.os_version.empty() ? "" : " " + i.os_version))
      .add("ImageType", i.shared ? "SHARED_IMAGE" : "PRIVATE_IMAGE")
      .add("CreatedTime", i.created_time)
      .add("ImageName", i.name)
      .add("ImageDescription", i.description)
      .add("ImageSize", i.size_gib)
      .add("Architecture", reported_architecture(i.architecture))
      .add("ImageState", i.state)
      .add("Platform", i.os_name)
      .add("ImageCreator", i.account)
      .add("ImageSource", "EXTERNAL_IMPORT")
      .add("SyncPercent", nullptr)
      .add("IsSupportCloudinit", i.supports_cloudinit)
      .add("SnapshotSet", std::move(snapshots))
      .add("Tags", std::move(tags))
      .add("LicenseType", i.license_type)
      .add("ImageFamily", i.image_family)
      .add("ImageDeprecated", i.deprecated)
      .add("CdcCacheStatus", "")
      .take();
}

// Our own fields beside the cloud's: why an import failed (SPEC §3), documented in docs/api.md.
// The cause is rendered in the request's language when it was stored as a message id (migration
// 5); a failure recorded before, or by the catalog itself (attempts exhausted), keeps its text.
ordered_json image_json_with_outcome(const catalog::Image& i, Lang lang) {
  ordered_json j = image_json(i);
  if (i.state == "IMPORTFAILED") {
    j["ImportErrorCode"] = i.error_code;
    j["ImportErrorMessage"] = i.error_message;
    if (auto cause = parse_message_json(i.error_cause)) j["ImportErrorMessage"] = render(*cause, lang);
  }
  if (i.state == "IMPORTING") {
    j["ImportProgress"] = i.progress.percent;
    // Once the worker has started a disk: which one, its bytes fetched and converted, the
    // estimate of the time left (null until there is one).
    if (const catalog::Progress& p = i.progress; p.disk > 0) {
      j["ImportProgressDetail"] =
          ObjectBuilder(7)
              .add("Disk", p.disk)
              .add("Disks", p.disks)
              .add("FetchedBytes", p.fetched)
              .add("TotalBytes", p.bytes)
              .add("ConvertedBytes", p.converted)
              .add("VirtualBytes", p.virtual_bytes)
              .add("SecondsLeft", p.seconds_left >= 0 ? ordered_json(p.seconds_left) : ordered_json(nullptr))
              .take();
    }
  }
  if (i.state == "NORMAL" && !i.source_sha256.empty()) j["ImportSourceSha256"] = i.source_sha256;
  return j;
}

struct Paging {
  std::int64_t offset = 0;
  std::int64_t limit = 20;
};

// Offset (default 0) and Limit (default 20, at most 100) of a Describe action.
Paging paging(const json& p, std::optional<Reply>& error) {
  Paging g;
  if (p.contains("Offset") && p["Offset"].is_number_integer()) g.offset = p["Offset"].get<std::int64_t>();
  if (p.contains("Limit") && p["Limit"].is_number_integer()) g.limit = p["Limit"].get<std::int64_t>();
  if (g.offset < 0 || g.limit < 1 || g.limit > 100) {
    error = Reply::error("InvalidParameterValue", {"api.paging", {}});
  }
  return g;
}

bool is_http_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const std::string s = url.substr(0, scheme);
  const std::string rest = url.substr(scheme + 3);
  return (s == "http" || s == "https") && !rest.empty() && rest[0] != '/' && url.size() <= 4096 &&
         std::none_of(url.begin(), url.end(), [](char c) { return c == ' ' || c == '\n' || c == '\r'; });
}

Reply import_image(const Call& c, catalog::Catalog& catalog, const ServiceLimits& limits) {
  std::optional<Reply> error;
  catalog::Image img;
  img.account = account_of(c);
  const json& p = c.params;
  const auto arch = str(p, "Architecture", error);
  const auto os_type = str(p, "OsType", error);
  const auto os_version = str(p, "OsVersion", error);
  const auto url = str(p, "ImageUrl", error);
  const auto name = str(p, "ImageName", error);
  const auto description = str(p, "ImageDescription", error);
  const auto license = str(p, "LicenseType", error);
  const auto boot = str(p, "BootMode", error);
  const auto family = str(p, "ImageFamily", error);
  if (error) return *error;
  for (const auto& [field, value] :
       std::initializer_list<std::pair<const char*, const std::optional<std::string>*>>{{"Architecture", &arch},
                                                                                        {"OsType", &os_type},
                                                                                        {"OsVersion", &os_version},
                                                                                        {"ImageUrl", &url},
                                                                                        {"ImageName", &name}}) {
    if (!*value || (*value)->empty()) return Reply::error("MissingParameter", {"api.parameter-required", {field}});
  }
  if (characters(*name) > 60) {
    return Reply::error("InvalidParameterValue.TooLarge",
                        {"api.too-long", {"ImageName", std::to_string(characters(*name)), "60"}});
  }
  if (description && characters(*description) > 256) {
    return Reply::error("InvalidParameterValue.TooLarge",
                        {"api.too-long", {"ImageDescription", std::to_string(characters(*description)), "256"}});
  }
  const api::ImportOs* os = api::find_import_os(*os_type);
  if (os == nullptr) {
    return Reply::error("InvalidImageOsType.Unsupported", {"api.os-type-unsupported", {*os_type}});
  }
  if (std::find(os->versions.begin(), os->versions.end(), *os_version) == os->versions.end()) {
    return Reply::error("InvalidImageOsVersion.Unsupported", {"api.os-version-unsupported", {*os_version, *os_type}});
  }
  if (std::find(os->architectures.begin(), os->architectures.end(), *arch) == os->architectures.end()) {
    return Reply::error("InvalidParameterValue", {"api.architecture-unsupported", {*arch, *os_type}});
  }
  if (!is_http_url(*url)) {
    return Reply::error("InvalidParameter.InvalidParameterUrlError",
                        {"api.url-invalid", {"ImageUrl", url->substr(0, 200)}});
  }
  if (license && *license != "TencentCloud" && *license != "BYOL") {
    return Reply::error("InvalidParameterValue.InvalidLicenseType", {"api.license-type", {*license}});
  }
  if (boot && *boot != "Legacy BIOS" && *boot != "UEFI") {
    return Reply::error("InvalidParameterValue.InvalidBootMode", {"api.boot-mode", {*boot}});
  }
  img.force = boolean(p, "Force");
  std::string path = url->substr(0, url->find('?'));
  std::transform(path.begin(), path.end(), path.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (path.size() > 4 && path.ends_with(".iso") && !img.force) {
    return Reply::error("InvalidParameterValue.ISOMustImportByForce", {"api.iso-force", {}});
  }
  if (p.contains("ImportImageDataDiskList")) {
    if (!p["ImportImageDataDiskList"].is_array() || p["ImportImageDataDiskList"].size() > 16) {
      return Reply::error("InvalidParameter", {"api.data-disks", {}});
    }
    for (const json& d : p["ImportImageDataDiskList"]) {
      if (!d.is_object() || !d.contains("ImageUrl") || !d["ImageUrl"].is_string() || !is_http_url(d["ImageUrl"])) {
        return Reply::error("InvalidParameter.InvalidParameterUrlError", {"api.data-disk-url", {}});
      }
      img.data_disk_urls.push_back(d["ImageUrl"]);
    }
  }
  if (p.contains("TagSpecification")) {
    if (!p["TagSpecification"].is_array())
      return Reply::error("InvalidParameter", {"api.not-list", {"TagSpecification"}});
    for (const json& spec : p["TagSpecification"]) {
      if (!spec.is_object() || !spec.contains("Tags") || !spec["Tags"].is_array()) continue;
      for (const json& t : spec["Tags"]) {
        if (t.is_object() && t.contains("Key") && t["Key"].is_string()) {
          img.tags.push_back(catalog::Tag{t["Key"], t.value("Value", "")});
        }
      }
    }
    if (img.tags.size() > 50)
      return Reply::error("InvalidParameter",
                          {"api.too-many", {"TagSpecification", std::to_string(img.tags.size()), "50"}});
  }
  auto taken = catalog.name_taken(img.account, *name);
  if (!taken) return internal_error(c, taken.error());
  if (*taken) return Reply::error("InvalidImageName.Duplicate", {"api.image-name-taken", {*name}});
  auto count = catalog.count_images(img.account);
  if (!count) return internal_error(c, count.error());
  if (*count >= limits.image_quota) {
    return Reply::error("ImageQuotaLimitExceeded", {"api.image-quota", {std::to_string(*count)}});
  }
  if (boolean(p, "DryRun")) {
    return Reply::error("DryRunOperation", {"api.dry-run", {}});
  }
  img.image_id = catalog::new_image_id();
  img.name = *name;
  img.description = description.value_or("");
  img.os_name = *os_type;
  img.os_version = *os_version;
  img.architecture = *arch;
  img.platform = os->platform;
  img.license_type = license.value_or("TencentCloud");
  img.boot_mode = boot.value_or("Legacy BIOS");
  img.image_family = family.value_or("");
  img.image_url = *url;
  img.language = c.account->language;
  img.region = c.region;
  auto created = catalog.create_import(img);
  if (!created) {
    if (created.error().code == ErrorCode::kAlreadyExists) {
      return Reply::error("InvalidImageName.Duplicate", {"api.image-name-taken", {*name}});
    }
    return internal_error(c, created.error());
  }
  Reply r;
  r.fields["ImageId"] = img.image_id;
  return r;
}

Reply describe_images(const Call& c, catalog::Catalog& catalog) {
  const json& p = c.params;
  std::vector<std::string> ids;
  std::vector<catalog::Filter> filters;
  if (p.contains("ImageIds") && p.contains("Filters")) {
    return Reply::error("InvalidParameter.InvalidParameterCoexistImageIdsFilters", {"api.ids-and-filters", {}});
  }
  if (p.contains("ImageIds")) {
    if (!p["ImageIds"].is_array()) return Reply::error("InvalidParameter", {"api.not-list", {"ImageIds"}});
    if (p["ImageIds"].size() > 100) {
      return Reply::error("InvalidParameterValue.LimitExceeded",
                          {"api.too-many", {"ImageIds", std::to_string(p["ImageIds"].size()), "100"}});
    }
    for (const json& id : p["ImageIds"]) {
      if (!id.is_string()) return Reply::error("InvalidParameter", {"api.not-strings", {"ImageIds"}});
      if (!well_formed_image_id(id)) {
        return Reply::error("InvalidImageId.Malformed",
                            {"api.image-id-malformed", {id.get<std::string>().substr(0, 64)}});
      }
      ids.push_back(id);
    }
  }
  if (p.contains("Filters")) {
    if (!p["Filters"].is_array()) return Reply::error("InvalidParameter", {"api.not-list", {"Filters"}});
    if (p["Filters"].size() > 10) {
      return Reply::error("InvalidParameterValue.LimitExceeded",
                          {"api.too-many", {"Filters", std::to_string(p["Filters"].size()), "10"}});
    }
    for (const json& f : p["Filters"]) {
      if (!f.is_object() || !f.contains("Name") || !f["Name"].is_string() || !f.contains("Values") ||
          !f["Values"].is_array()) {
        return Reply::error("InvalidParameter", {"api.filter-shape", {}});
      }
      if (f["Values"].size() > 5) {
        return Reply::error("InvalidParameterValue.LimitExceeded",
                            {"api.filter-values",
                             {f["Name"].get<std::string>().substr(0, 64), std::to_string(f["Values"].size()), "5"}});
      }
      catalog::Filter filter{f["Name"], {}};
      static const char* const kNames[] = {"image-id", "image-name", "image-type",           "platform",
                                           "tag-key",  "tag-value",  "dedicated-cluster-id", "cdc-cache-status"};
      if (std::find(std::begin(kNames), std::end(kNames), filter.name) == std::end(kNames) &&
          filter.name.rfind("tag:", 0) != 0) {
        return Reply::error("InvalidFilter", {"api.filter-unknown", {filter.name}});
      }
      for (const json& v : f["Values"]) {
        if (v.is_string()) filter.values.push_back(v);
      }
      filters.push_back(std::move(filter));
    }
  }
  std::optional<Reply> error;
  const auto [offset, limit] = paging(p, error);
  if (error) return *error;
  auto page = catalog.describe(account_of(c), ids, filters, offset, limit);
  if (!page) return internal_error(c, page.error());
  // Ids the account does not have (unknown, deleted, another account's) are simply not listed,
  // as in the cloud: Terraform reads the empty set as "deleted".
  Reply r;
  ordered_json& set = r.fields["ImageSet"];
  set = ordered_json::array();
  const Lang lang = api::reply_language(c);
  for (const catalog::Image& i : page->images) set.push_back(image_json_with_outcome(i, lang));
  r.fields["TotalCount"] = page->total;
  return r;
}

Reply delete_images(const Call& c, catalog::Catalog& catalog, const ServiceLimits& limits) {
  const json& p = c.params;
  if (!p.contains("ImageIds") || !p["ImageIds"].is_array() || p["ImageIds"].empty()) {
    return Reply::error("MissingParameter", {"api.ids-required", {"ImageIds", "100"}});
  }
  if (p["ImageIds"].size() > 100) {
    return Reply::error("InvalidParameterValue.LimitExceeded",
                        {"api.too-many", {"ImageIds", std::to_string(p["ImageIds"].size()), "100"}});
  }
  const std::string account = account_of(c);
  for (const json& id : p["ImageIds"]) {
    if (!id.is_string()) return Reply::error("InvalidParameter", {"api.not-strings", {"ImageIds"}});
    if (!well_formed_image_id(id)) {
      return Reply::error("InvalidImageId.Malformed",
                          {"api.image-id-malformed", {id.get<std::string>().substr(0, 64)}});
    }
    auto img = catalog.get(account, id);
    if (!img) return internal_error(c, img.error());
    if (!*img) return Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {id.get<std::string>()}});
    if ((*img)->shared) {
      return Reply::error("InvalidParameterValue.InvalidImageIdIsShared",
                          Message{"api.image-shared-delete", {id.get<std::string>(), (*img)->account}});
    }
    if ((*img)->share_count > 0) {
      return Reply::error("InvalidImageId.InShared", {"api.image-in-shared", {id.get<std::string>()}});
    }
    if ((*img)->state == "IMPORTING") {
      return Reply::error("InvalidImageId.IncorrectState", {"api.image-importing", {id.get<std::string>()}});
    }
  }
  if (boolean(p, "DryRun")) return Reply::error("DryRunOperation", {"api.dry-run", {}});
  for (const json& id : p["ImageIds"]) {
    if (auto removed = catalog.remove(account, id); !removed) {
      // Shared since it was checked above.
      if (removed.error().code == ErrorCode::kUnsupported) {
        return Reply::error("InvalidImageId.InShared", {"api.image-in-shared", {id.get<std::string>()}});
      }
      return internal_error(c, removed.error());
    }
    if (limits.store != nullptr) {
      const std::string image_id = id.get<std::string>();
      for (const std::string& prefix : {image_id + ".", image_id + "-"}) {
        if (auto gone = limits.store->remove_all(prefix); !gone) return internal_error(c, gone.error());
      }
    }
  }
  return Reply{};
}

Reply modify_image(const Call& c, catalog::Catalog& catalog) {
  std::optional<Reply> error;
  const auto id = str(c.params, "ImageId", error);
  const auto name = str(c.params, "ImageName", error);
  const auto description = str(c.params, "ImageDescription", error);
  if (error) return *error;
  if (!id) return Reply::error("MissingParameter", {"api.parameter-required", {"ImageId"}});
  if (!well_formed_image_id(*id)) {
    return Reply::error("InvalidImageId.Malformed", {"api.image-id-malformed", {id->substr(0, 64)}});
  }
  if (name && name->empty()) return Reply::error("InvalidParameterValue", {"api.empty", {"ImageName"}});
  if (name && characters(*name) > 60) {
    return Reply::error("InvalidParameterValue.TooLarge",
                        {"api.too-long", {"ImageName", std::to_string(characters(*name)), "60"}});
  }
  if (description && characters(*description) > 256) {
    return Reply::error("InvalidParameterValue.TooLarge",
                        {"api.too-long", {"ImageDescription", std::to_string(characters(*description)), "256"}});
  }
  const auto family = str(c.params, "ImageFamily", error);
  if (error) return *error;
  if (family && characters(*family) > 60) {
    return Reply::error("InvalidParameterValue.TooLarge",
                        {"api.too-long", {"ImageFamily", std::to_string(characters(*family)), "60"}});
  }
  catalog::ImageChanges changes{name, description, family, std::nullopt};
  if (c.params.contains("ImageDeprecated") && c.params["ImageDeprecated"].is_boolean()) {
    changes.deprecated = c.params["ImageDeprecated"].get<bool>();
  }
  auto done = catalog.modify(account_of(c), *id, changes);
  if (!done) {
    if (done.error().code == ErrorCode::kNotFound) {
      // Not the caller's: shared with it, or not there at all.
      auto seen = catalog.get(account_of(c), *id);
      if (seen && *seen && (*seen)->shared) {
        return Reply::error("InvalidImageId.IncorrectState", {"api.image-shared-change", {*id, (*seen)->account}});
      }
      return Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {*id}});
    }
    if (done.error().code == ErrorCode::kAlreadyExists) {
      return Reply::error("InvalidImageName.Duplicate", {"api.image-name-taken", {name.value_or("")}});
    }
    return internal_error(c, done.error());
  }
  return Reply{};
}

// DescribeImageFromFamily: the account's newest NORMAL image of the family that is not
// deprecated; no Image when there is none.
Reply describe_image_from_family(const Call& c, catalog::Catalog& catalog) {
  std::optional<Reply> error;
  const auto family = str(c.params, "ImageFamily", error);
  if (error) return *error;
  if (!family || family->empty()) return Reply::error("MissingParameter", {"api.parameter-required", {"ImageFamily"}});
  // Newest first; a family holds at most the account's quota of images.
  auto page = catalog.describe(account_of(c), {}, {{"image-family", {*family}}}, 0, 100000);
  if (!page) return internal_error(c, page.error());
  Reply r;
  r.fields["Image"] = nullptr;
  for (const catalog::Image& i : page->images) {
    if (i.state == "NORMAL" && !i.deprecated && !i.shared) {
      r.fields["Image"] = image_json(i);
      break;
    }
  }
  return r;
}

// A list of 1..max strings (or 0..max when `optional`); nothing with `error` set otherwise.
std::optional<std::vector<std::string>> id_list(const json& p, const char* name, std::size_t max, bool optional,
                                                std::optional<Reply>& error) {
  std::vector<std::string> out;
  if (!p.contains(name) || p[name].is_null()) {
    if (optional) return out;
    error = Reply::error("MissingParameter", {"api.ids-required", {name, std::to_string(max)}});
    return std::nullopt;
  }
  if (!p[name].is_array() || p[name].size() > max || (!optional && p[name].empty())) {
    error = Reply::error("InvalidParameter", {"api.ids-list", {name, optional ? "0" : "1", std::to_string(max)}});
    return std::nullopt;
  }
  for (const json& id : p[name]) {
    if (!id.is_string()) {
      error = Reply::error("InvalidParameter", {"api.not-strings", {name}});
      return std::nullopt;
    }
    out.push_back(id);
  }
  return out;
}

Reply message_not_found(const Call& c, const Error& e) {
  if (e.code == ErrorCode::kNotFound) {
    return Reply::error("InvalidMessageId.NotFound", {"api.message-not-found", {e.message}});
  }
  return internal_error(c, e);
}

Reply describe_messages(const Call& c, catalog::Catalog& catalog) {
  std::optional<Reply> error;
  const auto ids = id_list(c.params, "MessageIds", 100, true, error);
  if (error) return *error;
  const json& p = c.params;
  const auto [offset, limit] = paging(p, error);
  if (error) return *error;
  auto page = catalog.describe_messages(account_of(c), *ids, boolean(p, "UnreadOnly"), offset, limit);
  if (!page) return message_not_found(c, page.error());
  ordered_json set = ordered_json::array();
  for (const catalog::InboxMessage& m : page->messages) {
    ordered_json deliveries = ordered_json::array();
    for (const catalog::Delivery& d : m.deliveries) {
      deliveries.push_back({{"SubscriptionId", d.subscription_id},
                            {"Channel", d.channel},
                            {"Endpoint", d.endpoint},
                            {"State", d.state},
                            {"Attempts", d.attempts},
                            {"LastError", d.last_error},
                            {"SentTime", d.sent_time}});
    }
    ordered_json j = message_json(m);
    j["Read"] = m.read;
    j["Deliveries"] = deliveries;
    set.push_back(std::move(j));
  }
  Reply r;
  r.fields["MessageSet"] = set;
  r.fields["TotalCount"] = page->total;
  r.fields["UnreadCount"] = page->unread;
  return r;
}

Reply mark_or_delete_messages(const Call& c, catalog::Catalog& catalog, bool remove) {
  std::optional<Reply> error;
  const auto ids = id_list(c.params, "MessageIds", 100, false, error);
  if (error) return *error;
  auto done = remove ? catalog.delete_messages(account_of(c), *ids) : catalog.mark_read(account_of(c), *ids);
  if (!done) return message_not_found(c, done.error());
  return Reply{};
}

std::string random_secret() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  return to_hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

Reply create_subscription(const Call& c, catalog::Catalog& catalog, const ServiceLimits& limits) {
  std::optional<Reply> error;
  const auto channel = str(c.params, "Channel", error);
  const auto endpoint = str(c.params, "Endpoint", error);
  const auto secret = str(c.params, "Secret", error);
  if (error) return *error;
  if (!channel || !endpoint) return Reply::error("MissingParameter", {"api.both-required", {"Channel", "Endpoint"}});
  catalog::Subscription s;
  s.account = account_of(c);
  s.channel = *channel;
  s.endpoint = *endpoint;
  if (s.channel == "EMAIL") {
    if (!valid_mail_address(s.endpoint)) {
      return Reply::error("InvalidParameterValue", {"api.email-invalid", {s.endpoint.substr(0, 254)}});
    }
    if (secret) return Reply::error("InvalidParameter", {"api.secret-webhook-only", {}});
  } else if (s.channel == "WEBHOOK") {
    if (!valid_webhook_url(s.endpoint)) {
      return Reply::error("InvalidParameterValue", {"api.url-invalid", {"Endpoint", s.endpoint.substr(0, 200)}});
    }
    if (secret && (secret->size() < 16 || secret->size() > 128)) {
      return Reply::error("InvalidParameterValue", {"api.secret-length", {}});
    }
    s.secret = secret ? *secret : random_secret();
    if (s.secret.empty()) return internal_error(c, Error::internal("no random bytes for the webhook secret"));
  } else {
    return Reply::error("InvalidParameterValue", {"api.channel-unknown", {*channel}});
  }
  auto existing = catalog.describe_subscriptions(s.account);
  if (!existing) return internal_error(c, existing.error());
  if (static_cast<std::int64_t>(existing->size()) >= limits.subscription_quota) {
    return Reply::error("LimitExceeded.SubscriptionQuota",
                        {"api.subscription-quota", {std::to_string(existing->size())}});
  }
  s.subscription_id = catalog::new_id("sub-");
  if (auto created = catalog.create_subscription(s); !created) {
    if (created.error().code == ErrorCode::kAlreadyExists) {
      return Reply::error("InvalidParameterValue.DuplicateSubscription",
                          {"api.subscription-duplicate", {s.endpoint, s.channel}});
    }
    return internal_error(c, created.error());
  }
  Reply r;
  r.fields["SubscriptionId"] = s.subscription_id;
  if (s.channel == "WEBHOOK") r.fields["Secret"] = s.secret;
  return r;
}

Reply describe_subscriptions(const Call& c, catalog::Catalog& catalog) {
  auto subs = catalog.describe_subscriptions(account_of(c));
  if (!subs) return internal_error(c, subs.error());
  ordered_json set = ordered_json::array();
  for (const catalog::Subscription& s : *subs) {
    set.push_back({{"SubscriptionId", s.subscription_id},
                   {"Channel", s.channel},
                   {"Endpoint", s.endpoint},
                   {"CreatedTime", s.created_time}});
  }
  Reply r;
  r.fields["SubscriptionSet"] = set;
  r.fields["TotalCount"] = subs->size();
  return r;
}

Reply delete_subscription(const Call& c, catalog::Catalog& catalog) {
  std::optional<Reply> error;
  const auto id = str(c.params, "SubscriptionId", error);
  if (error) return *error;
  if (!id) return Reply::error("MissingParameter", {"api.parameter-required", {"SubscriptionId"}});
  if (auto done = catalog.delete_subscription(account_of(c), *id); !done) {
    if (done.error().code == ErrorCode::kNotFound) {
      return Reply::error("InvalidSubscriptionId.NotFound", {"api.subscription-not-found", {*id}});
    }
    return internal_error(c, done.error());
  }
  return Reply{};
}

// TestMessageSubscription: one test message sent at once to one subscription, outside the outbox
// (no retry): the answer says whether it arrived, as DescribeMessages' Deliveries would.
Reply test_subscription(const Call& c, catalog::Catalog& catalog, const NotifyConfig& notify) {
  std::optional<Reply> error;
  const auto id = str(c.params, "SubscriptionId", error);
  if (error) return *error;
  if (!id) return Reply::error("MissingParameter", {"api.parameter-required", {"SubscriptionId"}});
  auto subs = catalog.describe_subscriptions(account_of(c));
  if (!subs) return internal_error(c, subs.error());
  const auto sub = std::find_if(subs->begin(), subs->end(),
                                [&id](const catalog::Subscription& s) { return s.subscription_id == *id; });
  if (sub == subs->end()) {
    return Reply::error("InvalidSubscriptionId.NotFound", {"api.subscription-not-found", {*id}});
  }
  const Lang lang = parse_lang(c.account->language).value_or(Lang::kEn);
  catalog::Delivery d;
  d.subscription_id = sub->subscription_id;
  d.channel = sub->channel;
  d.endpoint = sub->endpoint;
  d.secret = sub->secret;
  d.message.message_id = "msg-test";
  d.message.account = sub->account;
  d.message.kind = "TEST";
  d.message.language = std::string(lang_code(lang));
  d.message.title = render({"notice.test.title", {}}, lang);
  d.message.content = render({"notice.test.body", {sub->channel, sub->endpoint}}, lang);
  const std::string failed = d.channel == "EMAIL" ? send_mail(notify, d) : post_webhook(notify, d);
  Reply r;
  r.fields["SubscriptionId"] = sub->subscription_id;
  r.fields["State"] = failed.empty() ? "SENT" : "FAILED";
  r.fields["LastError"] = failed;
  return r;
}

// The image a share action names, when the caller owns it; the error reply otherwise: a malformed
// id, an image it does not see, or one only shared with it.
std::optional<Reply> owned_image(const Call& c, catalog::Catalog& catalog, const std::string& id,
                                 std::optional<catalog::Image>& image) {
  if (!well_formed_image_id(id)) {
    return Reply::error("InvalidImageId.Malformed", {"api.image-id-malformed", {id.substr(0, 64)}});
  }
  auto img = catalog.get(account_of(c), id);
  if (!img) return internal_error(c, img.error());
  if (!*img) return Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {id}});
  if ((*img)->shared) {
    return Reply::error("UnauthorizedOperation.ImageNotBelongToAccount",
                        {"api.image-shared-share", {id, (*img)->account}});
  }
  image = std::move(*img);
  return std::nullopt;
}

// ModifyImageSharePermission: SHARE or CANCEL the caller's image with other configured accounts,
// named by their AccountId (app_id). All or nothing.
Reply modify_share(const Call& c, catalog::Catalog& catalog, const ServiceLimits& limits,
                   const std::vector<std::string>& account_ids) {
  const json& p = c.params;
  const std::string id = p["ImageId"];
  const std::string permission = p["Permission"];
  if (permission != "SHARE" && permission != "CANCEL") {
    return Reply::error("InvalidParameterValue", {"api.permission", {permission.substr(0, 64)}});
  }
  if (p["AccountIds"].empty()) return Reply::error("MissingParameter", {"api.account-ids-empty", {}});
  if (static_cast<std::int64_t>(p["AccountIds"].size()) > limits.share_quota) {
    return Reply::error(
        "InvalidParameterValue.LimitExceeded",
        {"api.share-too-many", {std::to_string(p["AccountIds"].size()), std::to_string(limits.share_quota)}});
  }
  std::vector<std::string> accounts;
  for (const json& a : p["AccountIds"]) {
    const std::string& account = a.get_ref<const std::string&>();
    if (!api::well_formed_account_id(account)) {
      return Reply::error("InvalidParameterValue.InvalidAppIdFormat",
                          {"api.app-id-malformed", {account.substr(0, 64)}});
    }
    if (std::find(accounts.begin(), accounts.end(), account) == accounts.end()) accounts.push_back(account);
  }
  if (c.account->app_id.empty()) {
    return Reply::error("FailedOperation.NotMasterAccount", {"api.not-master", {}});
  }
  std::optional<catalog::Image> image;
  if (auto error = owned_image(c, catalog, id, image)) return *error;
  for (const std::string& account : accounts) {
    if (account == c.account->app_id) {
      return Reply::error("InvalidAccountIs.YourSelf", {"api.share-self", {}});
    }
    if (std::find(account_ids.begin(), account_ids.end(), account) == account_ids.end()) {
      return Reply::error("InvalidAccountId.NotFound", {"api.account-not-found", {account}});
    }
  }
  if (permission == "CANCEL") {
    if (auto done = catalog.unshare_image(account_of(c), id, accounts); !done) {
      return internal_error(c, done.error());
    }
    return Reply{};
  }
  if (image->state != "NORMAL") {
    return Reply::error("InvalidParameterValue.InvalidImageState", {"api.share-state", {id, image->state}});
  }
  if (image->license_type == "BYOL") {
    return Reply::error("FailedOperation.BYOLImageShareFailed", {"api.share-byol", {id}});
  }
  if (auto done = catalog.share_image(account_of(c), id, accounts, limits.share_quota); !done) {
    switch (done.error().code) {
      case ErrorCode::kAlreadyExists:
        return Reply::error("FailedOperation.AccountAlreadyExists", {"api.share-exists", {id, done.error().message}});
      case ErrorCode::kLimitExceeded:
        return Reply::error("OverQuota", {"api.share-quota", {id, std::to_string(limits.share_quota)}});
      case ErrorCode::kUnsupported:
        return Reply::error("InvalidParameterValue.InvalidImageState", {"api.share-not-normal", {id}});
      case ErrorCode::kNotFound: return Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {id}});
      default: return internal_error(c, done.error());
    }
  }
  return Reply{};
}

// DescribeImageSharePermission: the accounts the caller's image is shared with.
Reply describe_share(const Call& c, catalog::Catalog& catalog) {
  const std::string id = c.params["ImageId"];
  std::optional<catalog::Image> image;
  if (auto error = owned_image(c, catalog, id, image)) return *error;
  auto shares = catalog.image_shares(account_of(c), id);
  if (!shares) {
    if (shares.error().code == ErrorCode::kNotFound) {
      return Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {id}});
    }
    return internal_error(c, shares.error());
  }
  ordered_json set = ordered_json::array();
  for (const catalog::Share& s : *shares) set.push_back({{"CreatedTime", s.created_time}, {"AccountId", s.account}});
  Reply r;
  r.fields["SharePermissionSet"] = set;
  return r;
}

// The parameters of each action, as the SDK's models (cvm_models.d.ts) declare them; our own
// actions as docs/api.md does. DescribeImages' InstanceType is accepted and has no effect:
// every imported image fits every instance type the import offers.
using enum ParamType;
constexpr ParamSpec kTag[] = {{"Key", kString, true}, {"Value", kString, true}};
constexpr ParamSpec kTagSpecification[] = {{"ResourceType", kString, true}, {"Tags", kObjectList, true, kTag}};
constexpr ParamSpec kDataDisk[] = {{"ImageUrl", kString, true}};
constexpr ParamSpec kFilter[] = {{"Name", kString, true}, {"Values", kStringList, true}};
constexpr ParamSpec kImportImage[] = {{"Architecture", kString, true},
                                      {"OsType", kString, true},
                                      {"OsVersion", kString, true},
                                      {"ImageUrl", kString, true},
                                      {"ImageName", kString, true},
                                      {"ImageDescription", kString},
                                      {"DryRun", kBoolean},
                                      {"Force", kBoolean},
                                      {"TagSpecification", kObjectList, false, kTagSpecification},
                                      {"LicenseType", kString},
                                      {"BootMode", kString},
                                      {"ImageFamily", kString},
                                      {"ImportImageDataDiskList", kObjectList, false, kDataDisk}};
constexpr ParamSpec kDescribeImages[] = {{"ImageIds", kStringList},
                                         {"Filters", kObjectList, false, kFilter},
                                         {"Offset", kInteger},
                                         {"Limit", kInteger},
                                         {"InstanceType", kString}};
constexpr ParamSpec kDeleteImages[] = {
    {"ImageIds", kStringList, true}, {"DeleteBindedSnap", kBoolean}, {"DryRun", kBoolean}};
constexpr ParamSpec kModifyImageAttribute[] = {{"ImageId", kString, true},
                                               {"ImageName", kString},
                                               {"ImageDescription", kString},
                                               {"ImageFamily", kString},
                                               {"ImageDeprecated", kBoolean}};
constexpr ParamSpec kDescribeImageFromFamily[] = {{"ImageFamily", kString, true}};
constexpr ParamSpec kModifyImageSharePermission[] = {
    {"ImageId", kString, true}, {"AccountIds", kStringList, true}, {"Permission", kString, true}};
constexpr ParamSpec kDescribeImageSharePermission[] = {{"ImageId", kString, true}};
constexpr ParamSpec kDescribeMessages[] = {
    {"MessageIds", kStringList}, {"UnreadOnly", kBoolean}, {"Offset", kInteger}, {"Limit", kInteger}};
constexpr ParamSpec kMessageIds[] = {{"MessageIds", kStringList, true}};
constexpr ParamSpec kCreateSubscription[] = {
    {"Channel", kString, true}, {"Endpoint", kString, true}, {"Secret", kString}};
constexpr ParamSpec kSubscriptionId[] = {{"SubscriptionId", kString, true}};

}  // namespace

void register_catalog_actions(api::Api& api, catalog::Catalog& catalog, ServiceLimits limits) {
  api.on("ImportImage",
         with_schema(kImportImage, [&catalog, limits](const Call& c) { return import_image(c, catalog, limits); }));
  api.on("DescribeImages",
         with_schema(kDescribeImages, [&catalog](const Call& c) { return describe_images(c, catalog); }));
  api.on("DeleteImages",
         with_schema(kDeleteImages, [&catalog, limits](const Call& c) { return delete_images(c, catalog, limits); }));
  api.on("ModifyImageAttribute",
         with_schema(kModifyImageAttribute, [&catalog](const Call& c) { return modify_image(c, catalog); }));
  api.on("DescribeImageFromFamily", with_schema(kDescribeImageFromFamily, [&catalog](const Call& c) {
           return describe_image_from_family(c, catalog);
         }));
  // Sharing between the configured accounts, named by their app_id (issue 13, point 9).
  std::vector<std::string> account_ids;
  for (const api::Account& a : api.accounts()) {
    if (!a.app_id.empty()) account_ids.push_back(a.app_id);
  }
  api.on("ModifyImageSharePermission",
         with_schema(kModifyImageSharePermission, [&catalog, limits, account_ids](const Call& c) {
           return modify_share(c, catalog, limits, account_ids);
         }));
  api.on("DescribeImageSharePermission",
         with_schema(kDescribeImageSharePermission, [&catalog](const Call& c) { return describe_share(c, catalog); }));
  // The account's custom-image quota, the one ImportImage enforces (issue 13, point 9).
  api.on("DescribeImageQuota", with_schema({}, [limits](const Call&) {
           Reply r;
           r.fields["ImageNumQuota"] = limits.image_quota;
           return r;
         }));
}

void register_message_actions(api::Api& api, catalog::Catalog& catalog, ServiceLimits limits, NotifyConfig notify) {
  api.on("DescribeMessages",
         with_schema(kDescribeMessages, [&catalog](const Call& c) { return describe_messages(c, catalog); }));
  api.on("MarkMessagesRead",
         with_schema(kMessageIds, [&catalog](const Call& c) { return mark_or_delete_messages(c, catalog, false); }));
  api.on("DeleteMessages",
         with_schema(kMessageIds, [&catalog](const Call& c) { return mark_or_delete_messages(c, catalog, true); }));
  api.on("CreateMessageSubscription", with_schema(kCreateSubscription, [&catalog, limits](const Call& c) {
           return create_subscription(c, catalog, limits);
         }));
  api.on("DescribeMessageSubscriptions",
         with_schema({}, [&catalog](const Call& c) { return describe_subscriptions(c, catalog); }));
  api.on("DeleteMessageSubscription",
         with_schema(kSubscriptionId, [&catalog](const Call& c) { return delete_subscription(c, catalog); }));
  api.on("TestMessageSubscription", with_schema(kSubscriptionId, [&catalog, notify](const Call& c) {
           return test_subscription(c, catalog, notify);
         }));
}

Reply internal_error(const Call& c, const Error& e) {
  struct Row {
    ErrorCode internal;
    const char* code;
    const char* message;
  };
  static constexpr Row kTable[] = {
      {ErrorCode::kNotFound, "ResourceNotFound", "api.resource-not-found"},
      {ErrorCode::kAlreadyExists, "ResourceInUse", "api.resource-in-use"},
      {ErrorCode::kLimitExceeded, "LimitExceeded", "api.limit-exceeded"},
      {ErrorCode::kUnavailable, "InternalError", "api.unavailable"},
  };
  const Row* row =
      std::find_if(std::begin(kTable), std::end(kTable), [&e](const Row& r) { return r.internal == e.code; });
  const bool listed = row != std::end(kTable);
  log_event("error", e.message,
            {{"request_id", c.request_id}, {"action", c.action}, {"error", std::string(error_code_name(e.code))}});
  return Reply::error(listed ? row->code : "InternalError", {listed ? row->message : "api.internal", {c.request_id}});
}

}  // namespace ig::service
