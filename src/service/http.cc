// The service's HTTP/1.1 listener on libmicrohttpd. See src/service/http.h.
#include "service/http.h"

#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "base/text.h"

namespace ig::service {

struct HttpServer::State {
  HttpLimits limits;
  HttpHandlers handlers;
  MHD_Daemon* daemon = nullptr;
  std::atomic<std::size_t> held{0};  // body bytes reserved by the exchanges in flight
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  bool reserve(std::size_t n) {
    std::size_t now = held.load();
    do {
      if (n > limits.request_memory || now > limits.request_memory - n) return false;
    } while (!held.compare_exchange_weak(now, now + n));
    return true;
  }
  void release(std::size_t n) { held.fetch_sub(n); }
};

namespace {

using State = HttpServer::State;

// One request, from its request line to the end of its reply.
struct Exchange {
  std::string target;  // the raw request-target: path and query as sent
  bool started = false;
  api::HttpRequest request;
  std::optional<std::uint64_t> content_length;
  std::size_t reserved = 0;                  // bytes of State::held this exchange holds
  std::optional<api::HttpResponse> refusal;  // the answer, once the request is refused
};

void* on_request_line(void*, const char* uri, MHD_Connection*) {
  auto* ex = new Exchange;
  ex->target = uri != nullptr ? uri : "";
  return ex;
}

void on_completed(void* cls, MHD_Connection*, void** context, MHD_RequestTerminationCode) {
  auto* ex = static_cast<Exchange*>(*context);
  if (ex == nullptr) return;
  static_cast<State*>(cls)->release(ex->reserved);
  delete ex;
  *context = nullptr;
}

MHD_Result add_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(cls);
  // The first of repeated headers counts, as the signature's canonical headers take one value.
  headers.emplace(to_lower(key != nullptr ? key : ""), value != nullptr ? value : "");
  return MHD_YES;
}

MHD_Result send(MHD_Connection* connection, const api::HttpResponse& reply) {
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  for (const auto& [name, value] : reply.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
  MHD_destroy_response(response);
  return queued;
}

void refuse(State& s, Exchange& ex, Overflow why) {
  s.release(ex.reserved);
  ex.reserved = 0;
  ex.request.body.clear();
  ex.request.body.shrink_to_fit();
  ex.refusal = s.handlers.overflow(ex.request, why);
}

// The first call: the request line and headers, no body yet.
MHD_Result begin(State& s, MHD_Connection* connection, Exchange& ex, const char* method) {
  ex.started = true;
  api::HttpRequest& r = ex.request;
  r.method = method != nullptr ? method : "";
  const auto q = ex.target.find('?');
  r.path = ex.target.substr(0, q);
  r.query = q == std::string::npos ? "" : ex.target.substr(q + 1);
  MHD_get_connection_values(connection, MHD_HEADER_KIND, add_header, &r.headers);
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec == std::errc() && end == it->second.data() + it->second.size()) ex.content_length = n;
  }
  if (ex.content_length && *ex.content_length > s.limits.max_body) {
    ex.refusal = s.handlers.overflow(r, Overflow::kBodyTooLarge);
  } else if (auto answer = s.handlers.screen(r)) {
    ex.refusal = std::move(answer);
  } else if (ex.content_length && *ex.content_length > 0) {
    if (s.reserve(*ex.content_length)) {
      ex.reserved = *ex.content_length;
      r.body.reserve(ex.reserved);
    } else {
      ex.refusal = s.handlers.overflow(r, Overflow::kBusy);
    }
  }
  // A client waiting for "100 Continue" is answered now and never sends the body.
  if (auto expect = r.headers.find("expect");
      ex.refusal && expect != r.headers.end() && to_lower(expect->second) == "100-continue") {
    return send(connection, *ex.refusal);
  }
  return MHD_YES;
}

// A piece of the body: held while the request stands, dropped once it is refused.
void take(State& s, Exchange& ex, const char* data, std::size_t n) {
  if (ex.refusal) return;
  std::string& body = ex.request.body;
  if (n > s.limits.max_body - body.size()) return refuse(s, ex, Overflow::kBodyTooLarge);
  // Without a Content-Length (chunked), room is reserved as the body arrives, a MiB at a time, and
  // the string's capacity kept to what is reserved.
  if (body.size() + n > ex.reserved) {
    constexpr std::size_t kStep = 1024 * 1024;
    const std::size_t want = std::min(s.limits.max_body, (body.size() + n + kStep - 1) / kStep * kStep);
    if (!s.reserve(want - ex.reserved)) return refuse(s, ex, Overflow::kBusy);
    ex.reserved = want;
    body.reserve(want);
  }
  body.append(data, n);
}

MHD_Result on_access(void* cls, MHD_Connection* connection, const char*, const char* method, const char*,
                     const char* upload_data, std::size_t* upload_data_size, void** context) {
  State& s = *static_cast<State*>(cls);
  auto* ex = static_cast<Exchange*>(*context);
  if (ex == nullptr) *context = ex = new Exchange;
  if (!ex->started) return begin(s, connection, *ex, method);
  if (*upload_data_size > 0) {
    take(s, *ex, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (ex->refusal) return send(connection, *ex->refusal);
  return send(connection, s.handlers.handle(std::move(ex->request)));
}

Result<int> listen_socket(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string where = fmt::format("{}:{}", host, port);
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return Error::invalid_argument(fmt::format("{}: cannot resolve the host: {}", where, ::gai_strerror(rc)));
  }
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  int err = fd < 0 ? errno : 0;
  // Two processes must never answer on one address: SO_REUSEADDR (restarts while old
  // connections sit in TIME_WAIT), never SO_REUSEPORT.
  const int yes = 1;
  if (fd >= 0 && (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) != 0 ||
                  ::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0)) {
    err = errno;
  }
  ::freeaddrinfo(found);
  if (err != 0) {
    if (fd >= 0) ::close(fd);
    return Error::unavailable(fmt::format("{}: cannot listen there: {}", where, std::strerror(err)));
  }
  return fd;
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() {
  if (state_->daemon != nullptr) MHD_stop_daemon(state_->daemon);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& host, int port, const HttpLimits& limits,
                                                      HttpHandlers handlers) {
  const int fd = IG_TRY(listen_socket(host, port));
  auto state = std::make_unique<State>();
  state->limits = limits;
  state->handlers = std::move(handlers);
  State* s = state.get();
  s->daemon = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC, 0, nullptr, nullptr,
      on_access, s, MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd), MHD_OPTION_URI_LOG_CALLBACK, on_request_line,
      nullptr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      limits.connection_memory, MHD_OPTION_CONNECTION_LIMIT, limits.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      limits.idle_timeout_seconds, MHD_OPTION_END);
  if (s->daemon == nullptr) {
    ::close(fd);
    return Error::unavailable(fmt::format("{}:{}: the HTTP server (libmicrohttpd) did not start", host, port));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

void HttpServer::wait() {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [this] { return state_->stopping; });
  lock.unlock();
  MHD_stop_daemon(state_->daemon);
  state_->daemon = nullptr;
}

void HttpServer::stop() {
  std::lock_guard lock(state_->mu);
  state_->stopping = true;
  state_->cv.notify_all();
}

}  // namespace ig::service
