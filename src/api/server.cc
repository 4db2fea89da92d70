#include "api/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "api/os_list.h"

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

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::string header(const HttpRequest& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

std::vector<std::string> default_regions() {
  return {"ap-guangzhou", "ap-shanghai",     "ap-nanjing",       "ap-beijing",    "ap-chengdu",
          "ap-chongqing", "ap-hongkong",     "ap-singapore",     "ap-jakarta",    "ap-seoul",
          "ap-tokyo",     "ap-bangkok",      "na-siliconvalley", "na-ashburn",    "sa-saopaulo",
          "eu-frankfurt", "ap-shanghai-fsi", "ap-shenzhen-fsi",  "ap-beijing-fsi"};
}

json unflatten_query(std::string_view query) {
  json root = json::object();
  std::size_t pos = 0;
  int pairs = 0;
  while (pos < query.size() && ++pairs <= 1000) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
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

HttpResponse Api::reply(const HttpRequest& req, const Call& call, const Reply& reply) const {
  HttpResponse res;
  res.headers["Content-Type"] = "application/json";
  const std::string trace = header(req, "x-tc-traceid");
  if (!trace.empty()) res.headers["X-TC-TraceId"] = trace;
  ordered_json response = reply.fields;
  if (!reply.error_code.empty()) {
    response = ordered_json::object();
    response["Error"] = {{"Code", reply.error_code}, {"Message", reply.error_message}};
  }
  response["RequestId"] = call.request_id;
  res.action = call.action;
  res.error_code = reply.error_code;
  res.request_id = call.request_id;
  res.body = ordered_json{{"Response", response}}.dump();
  return res;
}

HttpResponse Api::refuse(const HttpRequest& head, std::string code, std::string message) const {
  Call call;
  call.request_id = new_request_id();
  call.action = header(head, "x-tc-action").substr(0, 64);
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

}  // namespace

std::optional<Reply> Api::head_error(const HttpRequest& req, Call& call) const {
  if (req.method != "POST" && req.method != "GET") {
    return Reply::error("UnsupportedProtocol",
                        fmt::format("HTTP method {} is not supported; use POST or GET", req.method.substr(0, 16)));
  }
  if (req.query.size() > config_.max_query_bytes) {
    return Reply::error("RequestSizeLimitExceeded",
                        fmt::format("the query string has {} bytes, over the limit of {}; send large requests as POST",
                                    req.query.size(), config_.max_query_bytes));
  }
  call.action = header(req, "x-tc-action").substr(0, 64);
  if (call.action.empty()) return Reply::error("MissingParameter", "the X-TC-Action header is missing");
  if (header(req, "x-tc-version").empty())
    return Reply::error("MissingParameter", "the X-TC-Version header is missing");
  if (header(req, "x-tc-version") != "2017-03-12") {
    return Reply::error("NoSuchVersion", fmt::format("the API version '{}' does not exist; this API is 2017-03-12",
                                                     header(req, "x-tc-version").substr(0, 32)));
  }
  // A token comes only with a temporary credential, and this service issues none.
  if (!header(req, "x-tc-token").empty()) {
    return Reply::error("AuthFailure.TokenFailure",
                        "X-TC-Token is not valid here: this service issues no temporary credentials; sign with a "
                        "permanent SecretId and SecretKey, without a token");
  }
  return std::nullopt;
}

std::optional<HttpResponse> Api::screen(const HttpRequest& head) const {
  Call call;
  call.request_id = new_request_id();
  if (auto error = head_error(head, call)) return reply(head, call, *error);
  std::vector<std::string> services;
  const AuthError auth = verify_head(verify_input(head, "", services), services, secret_of, &config_);
  if (!auth.code.empty()) return reply(head, call, Reply::error(auth.code, auth.message));
  return std::nullopt;
}

HttpResponse Api::handle(HttpRequest req) const {
  Call call;
  call.request_id = new_request_id();
  if (auto error = head_error(req, call)) return reply(req, call, *error);
  std::vector<std::string> services;
  std::string secret_id;
  // The body moves into the verifier's input: a request's body is held once.
  const VerifyInput in = verify_input(req, std::move(req.body), services);
  const std::string& body = in.request.body;
  const AuthError auth = verify(in, services, secret_of, &config_, &secret_id);
  if (!auth.code.empty()) return reply(req, call, Reply::error(auth.code, auth.message));
  for (const Account& a : config_.accounts) {
    if (a.secret_id == secret_id) call.account = &a;
  }
  call.region = header(req, "x-tc-region");
  if (call.region.empty()) {
    return reply(req, call, Reply::error("MissingParameter", "the X-TC-Region header is missing: name the region"));
  }
  if (std::find(config_.regions.begin(), config_.regions.end(), call.region) == config_.regions.end()) {
    return reply(req, call,
                 Reply::error("UnsupportedRegion",
                              fmt::format("the region '{}' is not served here", call.region.substr(0, 64))));
  }
  call.language = header(req, "x-tc-language");
  if (req.method == "POST") {
    call.params = json::parse(body.empty() ? "{}" : body, nullptr, false);
    if (call.params.is_discarded() || !call.params.is_object()) {
      return reply(req, call, Reply::error("InvalidParameter", "the request body is not a JSON object"));
    }
  } else {
    call.params = unflatten_query(req.query);
    call.from_query = true;
  }
  const auto h = handlers_.find(call.action);
  if (h == handlers_.end()) {
    return reply(req, call, Reply::error("InvalidAction", fmt::format("the action {} does not exist", call.action)));
  }
  return reply(req, call, h->second(call));
}

std::optional<ApiConfig> parse_api_config(const json& j, ConfigError& error) {
  ApiConfig c;
  if (!j.is_object() || !j.contains("accounts") || !j["accounts"].is_array() || j["accounts"].empty()) {
    error.message = "the configuration needs a non-empty \"accounts\" array";
    return std::nullopt;
  }
  for (const json& a : j["accounts"]) {
    Account acc;
    for (const char* field : {"secret_id", "secret_key"}) {
      if (!a.is_object() || !a.contains(field) || !a[field].is_string() || a[field].get<std::string>().empty()) {
        error.message = fmt::format("every account needs a non-empty string \"{}\"", field);
        return std::nullopt;
      }
    }
    acc.secret_id = a["secret_id"];
    acc.secret_key = a["secret_key"];
    acc.app_id = a.value("app_id", "");
    acc.language = a.value("language", "en");
    for (const Account& other : c.accounts) {
      if (other.secret_id == acc.secret_id) {
        error.message = fmt::format("secret_id {} appears twice", acc.secret_id);
        return std::nullopt;
      }
    }
    c.accounts.push_back(std::move(acc));
  }
  if (j.contains("services")) {
    if (!j["services"].is_array()) {
      error.message = "\"services\" must be an array of strings";
      return std::nullopt;
    }
    c.services.clear();
    for (const json& s : j["services"]) {
      if (!s.is_string()) {
        error.message = "\"services\" must be an array of strings";
        return std::nullopt;
      }
      c.services.push_back(s);
    }
  }
  if (j.contains("regions")) {
    const json& r = j["regions"];
    if (!r.is_array() || r.empty() || !std::all_of(r.begin(), r.end(), [](const json& x) {
          return x.is_string() && !x.get<std::string>().empty();
        })) {
      error.message = "\"regions\" must be a non-empty array of region names";
      return std::nullopt;
    }
    c.regions = r.get<std::vector<std::string>>();
  }
  if (j.contains("timestamp_window")) {
    if (!j["timestamp_window"].is_number_integer() || j["timestamp_window"].get<std::int64_t>() <= 0) {
      error.message = "\"timestamp_window\" must be a positive number of seconds";
      return std::nullopt;
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
