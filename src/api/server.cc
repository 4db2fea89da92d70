#include "api/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "api/os_list.h"
#include "base/text.h"

namespace ig::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF,
                     0x8000 | (b >> 48 & 0x3FFF), b & 0xFFFFFFFFFFFFULL);
}

std::string header(const HttpRequest& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

bool well_formed_account_id(std::string_view id) {
  return !id.empty() && id.size() <= 20 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> default_regions() {
  return {"ap-guangzhou", "ap-shanghai",     "ap-nanjing",       "ap-beijing",    "ap-chengdu",
          "ap-chongqing", "ap-hongkong",     "ap-singapore",     "ap-jakarta",    "ap-seoul",
          "ap-tokyo",     "ap-bangkok",      "na-siliconvalley", "na-ashburn",    "sa-saopaulo",
          "eu-frankfurt", "ap-shanghai-fsi", "ap-shenzhen-fsi",  "ap-beijing-fsi"};
}

json unflatten(const QueryPairs& pairs) {
  json root = json::object();
  for (const auto& [key, value] : pairs) {
    json* at = &root;
    std::size_t k = 0;
    int depth = 0;
    while (k <= key.size() && ++depth <= 16) {
      auto dot = key.find('.', k);
      if (dot == std::string::npos) dot = key.size();
      const std::string part = key.substr(k, dot - k);
      const bool last = dot == key.size();
      const bool index = !part.empty() && part.size() < 5 && std::all_of(part.begin(), part.end(), ::isdigit);
      if (index) {
        if (!at->is_array()) *at = json::array();
        const auto i = std::stoul(part);
        if (i > 1000) break;
        while (at->size() <= i) at->push_back(nullptr);
        at = &(*at)[i];
      } else {
        if (!at->is_object()) *at = json::object();
        at = &(*at)[part];
      }
      if (last) {
        *at = value;  // a string: the action's schema gives it its type (service/params.h)
        break;
      }
      k = dot + 1;
    }
  }
  return root;
}

json unflatten_query(std::string_view query) {
  return unflatten(parse_query(query));
}

Api::Api(ApiConfig config, std::function<std::int64_t()> clock) : config_(std::move(config)), clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

void Api::on(std::string action, Handler handler) {
  handlers_[std::move(action)] = std::move(handler);
}

std::vector<std::string> Api::actions() const {
  std::vector<std::string> out;
  for (const auto& [name, handler] : handlers_) out.push_back(name);
  return out;
}

HttpResponse Api::reply(const HttpRequest& req, const Call& call, Reply reply) const {
  HttpResponse res;
  res.headers["Content-Type"] = "application/json";
  const std::string trace = header(req, "x-tc-traceid");
  if (!trace.empty()) res.headers["X-TC-TraceId"] = trace;
  // The reply's fields move into the document (a page of images is a large tree: copying it
  // cost more than building it).
  ordered_json document = ordered_json::object();
  ordered_json& response = document["Response"];
  if (reply.error_code.empty()) {
    response = std::move(reply.fields);
  } else {
    response = ordered_json::object();
    response["Error"] = {{"Code", reply.error_code}, {"Message", render(reply.error_message, reply_language(call))}};
  }
  response["RequestId"] = call.request_id;
  res.action = call.action;
  res.error_code = std::move(reply.error_code);
  res.request_id = call.request_id;
  res.body = document.dump();
  return res;
}

HttpResponse Api::refuse(const HttpRequest& head, std::string code, Message message) const {
  Call call;
  call.request_id = new_request_id();
  call.action = header(head, "x-tc-action").substr(0, 64);
  call.language = header(head, "x-tc-language");
  return reply(head, call, Reply::error(std::move(code), std::move(message)));
}

VerifyInput Api::verify_input(const HttpRequest& req, std::string body, std::vector<std::string>& services) const {
  // Authentication: the Host's first label is an accepted service name, as the SDK signs it.
  services = config_.services;
  const std::string host = header(req, "host");
  services.push_back(host.substr(0, host.find_first_of(".:")));
  VerifyInput in;
  in.request =
      ReceivedRequest{req.method, req.path, req.query, header(req, "content-type"), host, std::move(body), req.headers};
  in.authorization = header(req, "authorization");
  in.timestamp = header(req, "x-tc-timestamp");
  in.now = clock_();
  in.window = config_.timestamp_window;
  return in;
}

namespace {

std::optional<std::string> secret_of(const std::string& id, const void* ctx) {
  for (const Account& a : static_cast<const ApiConfig*>(ctx)->accounts) {
    if (a.secret_id == id) return a.secret_key;
  }
  return std::nullopt;
}

// A request signed with signature v1: neither an Authorization nor an X-TC-Action header (a
// client that sends those speaks TC3), and the common parameters in the query of a GET (with its
// Signature) or in a form body.
bool is_v1(const HttpRequest& req) {
  if (req.headers.contains("authorization") || req.headers.contains("x-tc-action")) return false;
  if (req.method == "GET") return find_pair(parse_query(req.query), "Signature") != nullptr;
  const std::string type = to_lower(header(req, "content-type"));
  return req.method == "POST" && trim(type.substr(0, type.find(';'))) == "application/x-www-form-urlencoded";
}

// A common parameter the request lacks: TC3 carries it in an X-TC-* header, v1 as a parameter.
Message missing(const Envelope& env, const char* what) {
  if (env.v1) return {"api.common-parameter-missing", {what}};
  return {"api.header-missing", {fmt::format("X-TC-{}", what)}};
}

}  // namespace

Lang reply_language(const Call& call) {
  if (auto lang = parse_lang(call.language)) return *lang;
  if (call.account != nullptr) {
    if (auto lang = parse_lang(call.account->language)) return *lang;
  }
  return Lang::kEn;
}

Envelope Api::envelope_of(const HttpRequest& req) {
  return {header(req, "x-tc-action"), header(req, "x-tc-version"),  header(req, "x-tc-region"),
          header(req, "x-tc-token"),  header(req, "x-tc-language"), false};
}

Envelope Api::envelope_of(const QueryPairs& pairs) {
  const auto value = [&](const char* name) {
    const std::string* v = find_pair(pairs, name);
    return v != nullptr ? *v : std::string();
  };
  return {value("Action"), value("Version"), value("Region"), value("Token"), value("Language"), true};
}

std::optional<Reply> Api::transport_error(const HttpRequest& req) const {
  if (req.method != "POST" && req.method != "GET") {
    return Reply::error("UnsupportedProtocol", {"api.method-unsupported", {req.method.substr(0, 16)}});
  }
  if (req.query.size() > config_.max_query_bytes) {
    return Reply::error(
        "RequestSizeLimitExceeded",
        {"api.query-too-large", {std::to_string(req.query.size()), std::to_string(config_.max_query_bytes)}});
  }
  return std::nullopt;
}

std::optional<Reply> Api::envelope_error(const Envelope& env, Call& call) const {
  // TC3 carries these in headers, v1 in parameters: the messages name what the client sent.
  call.action = env.action.substr(0, 64);
  // The language first: every error from here on speaks it.
  call.language = env.language;
  if (call.action.empty()) return Reply::error("MissingParameter", missing(env, "Action"));
  if (env.version.empty()) return Reply::error("MissingParameter", missing(env, "Version"));
  if (env.version != "2017-03-12") {
    return Reply::error("NoSuchVersion", {"api.no-such-version", {env.version.substr(0, 32)}});
  }
  // A token comes only with a temporary credential, and this service issues none.
  if (!env.token.empty())
    return Reply::error("AuthFailure.TokenFailure", {"api.token", {env.v1 ? "Token" : "X-TC-Token"}});
  return std::nullopt;
}

std::optional<HttpResponse> Api::screen(const HttpRequest& head) const {
  Call call;
  call.request_id = new_request_id();
  if (auto error = transport_error(head)) return reply(head, call, *error);
  if (is_v1(head)) {
    // A form POST carries its envelope and signature in the body: nothing more to see yet.
    if (head.method != "GET") return std::nullopt;
    const QueryPairs pairs = parse_query(head.query);
    if (auto error = envelope_error(envelope_of(pairs), call)) return reply(head, call, *error);
    auto auth = verify_v1({head.method, header(head, "host"), head.path, pairs, clock_(), config_.timestamp_window},
                          secret_of, &config_);
    if (!auth) return reply(head, call, Reply::error(std::move(auth.error())));
    return std::nullopt;
  }
  if (auto error = envelope_error(envelope_of(head), call)) return reply(head, call, *error);
  std::vector<std::string> services;
  auto auth = verify_head(verify_input(head, "", services), services, secret_of, &config_);
  if (!auth) return reply(head, call, Reply::error(std::move(auth.error())));
  return std::nullopt;
}

HttpResponse Api::handle(HttpRequest req) const {
  Call call;
  call.request_id = new_request_id();
  if (auto error = transport_error(req)) return reply(req, call, *error);
  const bool v1 = is_v1(req);
  QueryPairs pairs;
  if (v1) pairs = parse_query(req.method == "GET" ? req.query : req.body);
  const Envelope env = v1 ? envelope_of(pairs) : envelope_of(req);
  if (auto error = envelope_error(env, call)) return reply(req, call, *error);
  std::string secret_id;
  std::string body;
  if (v1) {
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (pairs[i].first == pairs[j].first) {
          return reply(req, call,
                       Reply::error("InvalidParameter", {"api.parameter-twice", {pairs[i].first.substr(0, 64)}}));
        }
      }
    }
    auto auth = verify_v1({req.method, header(req, "host"), req.path, pairs, clock_(), config_.timestamp_window},
                          secret_of, &config_);
    if (!auth) return reply(req, call, Reply::error(std::move(auth.error())));
    secret_id = std::move(*auth);
  } else {
    std::vector<std::string> services;
    // The body moves into the verifier's input: a request's body is held once.
    VerifyInput in = verify_input(req, std::move(req.body), services);
    auto auth = verify(in, services, secret_of, &config_);
    if (!auth) return reply(req, call, Reply::error(std::move(auth.error())));
    secret_id = std::move(*auth);
    body = std::move(in.request.body);
  }
  for (const Account& a : config_.accounts) {
    if (a.secret_id == secret_id) call.account = &a;
  }
  call.region = env.region;
  if (call.region.empty()) {
    return reply(req, call, Reply::error("MissingParameter", missing(env, "Region")));
  }
  if (std::find(config_.regions.begin(), config_.regions.end(), call.region) == config_.regions.end()) {
    return reply(req, call, Reply::error("UnsupportedRegion", {"api.region-unsupported", {call.region.substr(0, 64)}}));
  }
  if (v1) {
    // The common parameters are the protocol's; the rest are the action's, flattened.
    std::erase_if(pairs, [](const auto& p) { return is_common_parameter(p.first); });
    call.params = unflatten(pairs);
    call.from_query = true;
  } else if (req.method == "POST") {
    call.params = json::parse(body.empty() ? "{}" : body, nullptr, false);
    if (call.params.is_discarded() || !call.params.is_object()) {
      return reply(req, call, Reply::error("InvalidParameter", {"api.body-not-object", {}}));
    }
  } else {
    call.params = unflatten_query(req.query);
    call.from_query = true;
  }
  const auto h = handlers_.find(call.action);
  if (h == handlers_.end()) {
    return reply(req, call, Reply::error("InvalidAction", {"api.action-unknown", {call.action}}));
  }
  return reply(req, call, h->second(call));
}

Result<ApiConfig> parse_api_config(const json& j) {
  ApiConfig c;
  if (!j.is_object() || !j.contains("accounts") || !j["accounts"].is_array() || j["accounts"].empty()) {
    return Error::invalid_argument("the configuration needs a non-empty \"accounts\" array");
  }
  for (const json& a : j["accounts"]) {
    Account acc;
    for (const char* field : {"secret_id", "secret_key"}) {
      if (!a.is_object() || !a.contains(field) || !a[field].is_string() || a[field].get<std::string>().empty()) {
        return Error::invalid_argument(fmt::format("every account needs a non-empty string \"{}\"", field));
      }
    }
    acc.secret_id = a["secret_id"];
    acc.secret_key = a["secret_key"];
    // The account's id, as the cloud writes account ids: digits (ModifyImageSharePermission names
    // accounts by it).
    if (a.contains("app_id")) {
      const json& id = a["app_id"];
      if (!id.is_string() || !well_formed_account_id(id.get<std::string>())) {
        return Error::invalid_argument(
            fmt::format("account {}: \"app_id\" must be a string of 1 to 20 digits", acc.secret_id));
      }
      acc.app_id = id;
    }
    acc.language = a.value("language", "en");
    for (const Account& other : c.accounts) {
      if (other.secret_id == acc.secret_id) {
        return Error::invalid_argument(fmt::format("secret_id {} appears twice", acc.secret_id));
      }
    }
    c.accounts.push_back(std::move(acc));
  }
  if (j.contains("services")) {
    if (!j["services"].is_array()) {
      return Error::invalid_argument("\"services\" must be an array of strings");
    }
    c.services.clear();
    for (const json& s : j["services"]) {
      if (!s.is_string()) {
        return Error::invalid_argument("\"services\" must be an array of strings");
      }
      c.services.push_back(s);
    }
  }
  if (j.contains("regions")) {
    const json& r = j["regions"];
    if (!r.is_array() || r.empty() || !std::all_of(r.begin(), r.end(), [](const json& x) {
          return x.is_string() && !x.get<std::string>().empty();
        })) {
      return Error::invalid_argument("\"regions\" must be a non-empty array of region names");
    }
    c.regions = r.get<std::vector<std::string>>();
  }
  if (j.contains("timestamp_window")) {
    if (!j["timestamp_window"].is_number_integer() || j["timestamp_window"].get<std::int64_t>() <= 0) {
      return Error::invalid_argument("\"timestamp_window\" must be a positive number of seconds");
    }
    c.timestamp_window = j["timestamp_window"];
  }
  return c;
}

void register_static_actions(Api& api) {
  api.on("DescribeImportImageOs", [](const Call&) {
    Reply r;
    ordered_json linux_names = ordered_json::array();
    ordered_json windows_names = ordered_json::array();
    ordered_json versions = ordered_json::array();
    for (const ImportOs& os : import_os_list()) {
      (os.platform == "Windows" ? windows_names : linux_names).push_back(os.name);
      versions.push_back({{"OsName", os.name}, {"OsVersions", os.versions}, {"Architecture", os.architectures}});
    }
    r.fields["ImportImageOsListSupported"] = {{"Windows", windows_names}, {"Linux", linux_names}};
    r.fields["ImportImageOsVersionSet"] = versions;
    return r;
  });
}

}  // namespace ig::api
