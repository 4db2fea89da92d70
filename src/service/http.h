// The service's HTTP/1.1 listener: GNU libmicrohttpd underneath, with every byte a client can make
// the server hold bounded (docs/decisions/0013-http-server.md).
//
//   - The request line and headers live in a fixed per-connection pool (`connection_memory`); a
//     line that does not fit gets libmicrohttpd's own 414/431 and the connection is closed.
//   - `screen` sees the request line and headers before any byte of the body. When it answers,
//     the body is read and dropped, never held, and its answer is sent; a client that sent
//     "Expect: 100-continue" is answered at once and never sends the body.
//   - A body is held only up to `max_body` bytes, and all bodies held at once share
//     `request_memory` bytes: a request that would pass either gets `overflow`'s answer (its body
//     dropped as above).
//   - Connections are capped (`max_connections`) and idle ones closed after `idle_timeout`.
//
// Each connection is served by its own thread, so a handler may block (on the catalog).
// Thread safety: the handlers are called from many threads at once. Errors: start() names the
// address and the system's reason.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/server.h"
#include "base/error.h"

namespace ig::service {

struct HttpLimits {
  std::size_t max_body = 10 * 1024 * 1024;        // bytes of one request's body
  std::size_t request_memory = 64 * 1024 * 1024;  // bytes of all bodies held at once
  std::size_t connection_memory = 96 * 1024;      // request line + headers + read buffer
  unsigned max_connections = 256;
  unsigned idle_timeout_seconds = 30;
};

enum class Overflow {
  kBodyTooLarge,  // the body is over max_body (known from Content-Length, or as it arrives)
  kBusy,          // the bodies already held leave no room for this one
};

struct HttpHandlers {
  // The request without its body: an answer is sent (a refusal, or a page that needs no body) and
  // the body is dropped.
  std::function<std::optional<api::HttpResponse>(const api::HttpRequest& head)> screen;
  std::function<api::HttpResponse(const api::HttpRequest& head, Overflow why)> overflow;
  std::function<api::HttpResponse(api::HttpRequest request)> handle;  // the request moves in
};

class HttpServer {
 public:
  // Listens on HOST:PORT ("127.0.0.1", "0.0.0.0", "::", a name) and serves until stop().
  static Result<std::unique_ptr<HttpServer>> start(const std::string& host, int port, const HttpLimits& limits,
                                                   HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Blocks until stop() is called (from another thread or a signal waiter).
  void wait();
  // Stops accepting; returns at once. wait() then finishes the open exchanges and returns.
  void stop();

  struct State;

 private:
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ig::service
