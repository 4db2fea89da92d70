// The API front end: the Tencent Cloud API 3.0 protocol over HTTP (SPEC §4, ../shared/api).
//
// Every request is authenticated against the configured accounts (TC3-HMAC-SHA256, or the legacy
// signature v1 of api/signature_v1.h; a 5-minute timestamp window), dispatched by its action, and
// answered with HTTP 200 and the envelope {"Response": {..., "RequestId"}} — errors as
// {"Response": {"Error": {Code, Message}, RequestId}} — with the request's X-TC-TraceId echoed.
// TC3 carries the action, version, region, token and language in X-TC-* headers, its parameters
// in a JSON body (POST) or the flattened query (GET); v1 carries everything as parameters of the
// query (GET) or of a form body (POST).
// Actions are registered by the service layer; unknown actions are InvalidAction.
// Thread safety: handle() may be called from many threads; handlers must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/signature_v1.h"
#include "api/tc3.h"
#include "base/error.h"

namespace ig::api {

struct Account {
  std::string secret_id;
  std::string secret_key;
  std::string app_id;           // the account's id (digits); its images' owner, ImageCreator and AccountId
  std::string language = "en";  // the account's message language
};

// An account id as the cloud writes them: 1 to 20 digits.
bool well_formed_account_id(std::string_view id);

// The cloud's public regions, as X-TC-Region names them.
std::vector<std::string> default_regions();

struct ApiConfig {
  std::vector<Account> accounts;
  std::vector<std::string> services = {"cvm"};  // accepted credential-scope services besides the Host's first label
  std::int64_t timestamp_window = 300;
  std::size_t max_query_bytes = 32 * 1024;  // a GET's query string (the real API's limit)
  // The regions this deployment serves (X-TC-Region): by default the cloud's public regions.
  std::vector<std::string> regions = default_regions();
};

// A request as the handler sees it: authenticated caller, action, parameters.
struct Call {
  const Account* account = nullptr;
  std::string action;
  std::string region;
  std::string language;  // X-TC-Language (v1: Language), or ""
  nlohmann::json params;
  bool from_query = false;  // params came from a GET query: every value is a string
  std::string request_id;
};

// A handler's answer: the fields of Response, or an error code and message. The code is the
// cloud's (English, for programs); the message is a sentence of the product's table
// (text/messages.h), rendered when the reply is sent in the request's language: X-TC-Language
// (TC3) or Language (v1) when it names one of the five languages ("zh-CN" -> zh, "en-US" -> en;
// any other value is ignored, as the cloud ignores it), else the account's configured language,
// else English.
struct Reply {
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  std::string error_code;
  Message error_message;
  static Reply error(std::string code, Message message) {
    Reply r;
    r.error_code = std::move(code);
    r.error_message = std::move(message);
    return r;
  }
  static Reply error(ApiError e) { return error(std::move(e.code), std::move(e.message)); }
};

// The language of a request's messages, as Reply says.
Lang reply_language(const Call& call);

using Handler = std::function<Reply(const Call&)>;

// The HTTP exchange, decoupled from any server library.
struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};
struct HttpResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  // For the server's metrics and logs, not sent: the action, the error code ("" on success) and
  // the RequestId of the reply.
  std::string action;
  std::string error_code;
  std::string request_id;
};

// What the protocol carries beside the action's parameters: the X-TC-* headers of a TC3 request,
// or the common parameters of a v1 request.
struct Envelope {
  std::string action;
  std::string version;
  std::string region;
  std::string token;
  std::string language;
  bool v1 = false;
};

class Api {
 public:
  explicit Api(ApiConfig config, std::function<std::int64_t()> clock = {});
  void on(std::string action, Handler handler);
  HttpResponse handle(HttpRequest request) const;
  // The checks that need no body (method, query size, action, version, and the Authorization
  // header up to its signature; a v1 GET's whole signature): an answer refuses the request before
  // its body is read. A v1 form POST carries all of these in its body: only its method is seen.
  std::optional<HttpResponse> screen(const HttpRequest& head) const;
  // An error envelope for a request refused outside the API's own checks (its body too large).
  HttpResponse refuse(const HttpRequest& head, std::string code, Message message) const;
  // The names of the registered actions.
  std::vector<std::string> actions() const;
  const std::vector<Account>& accounts() const { return config_.accounts; }

 private:
  HttpResponse reply(const HttpRequest& req, const Call& call, Reply reply) const;
  static Envelope envelope_of(const HttpRequest& req);
  static Envelope envelope_of(const QueryPairs& pairs);
  // The method and the size of the query.
  std::optional<Reply> transport_error(const HttpRequest& req) const;
  // The action (named in `call`), the version and the token.
  std::optional<Reply> envelope_error(const Envelope& env, Call& call) const;
  VerifyInput verify_input(const HttpRequest& req, std::string body, std::vector<std::string>& services) const;

  ApiConfig config_;
  std::function<std::int64_t()> clock_;
  std::map<std::string, Handler> handlers_;
};

// The API part of the service's configuration file (JSON): {"accounts": [{"secret_id",
// "secret_key", "app_id", "language"}], "services": ["cvm"], "timestamp_window": 300,
// "regions": ["ap-guangzhou", …]}.
// Errors (kInvalidArgument) name the field.
Result<ApiConfig> parse_api_config(const nlohmann::json& j);

// Parses flattened parameters ("Filters.0.Name=x&Filters.0.Values.0=y&Limit=10") back into JSON:
// objects and lists from the dotted names, every value a string (the action's schema converts
// "10" and "true" where it declares an integer or a boolean). Indexes over 1000 and names nested
// deeper than 16 are dropped.
nlohmann::json unflatten(const QueryPairs& pairs);
// The same, of a raw query string (a TC3 GET).
nlohmann::json unflatten_query(std::string_view query);

// The handlers every deployment has: DescribeImportImageOs.
void register_static_actions(Api& api);

}  // namespace ig::api
