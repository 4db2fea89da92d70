// An open-loop load generator for the cloud API (`imagegate serve`): for each target rate it
// sends signed requests (TC3-HMAC-SHA256) on keep-alive connections at scheduled times, and
// measures each latency from the scheduled time (so a slow server is not hidden by a client that
// waits: no coordinated omission). Prints achieved throughput and latency percentiles.
//
//   api_load URL SECRET_ID SECRET_KEY ACTION BODY [--rates 250,500,...] [--seconds 5]
//            [--connections 8] [--expect CODE] [--requests N]
//
// "{n}" in BODY is replaced by a counter (unique names for ImportImage). --expect CODE counts
// that error code (DryRunOperation for ImportImage with DryRun) as success. --requests N sends N
// requests one after another and exits (to fill the catalog).
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "api/tc3.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  std::string host;
  int port = 0;
  std::string secret_id;
  std::string secret_key;
  std::string action;
  std::string body;
  std::string expect;
};

std::string fill(const std::string& body, std::uint64_t n) {
  std::string out = body;
  for (auto at = out.find("{n}"); at != std::string::npos; at = out.find("{n}")) out.replace(at, 3, std::to_string(n));
  return out;
}

// One connection: a libcurl easy handle, which keeps its connection alive between calls.
class Client {
 public:
  explicit Client(const Target& t)
      : curl_(curl_easy_init()), url_("http://" + t.host + ":" + std::to_string(t.port) + "/") {
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_PROXY, "");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Client::on_data);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply_);
  }
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs the body with the headers; the reply's body, or nothing when the exchange failed.
  const std::string* post(const std::vector<std::string>& headers, const std::string& body) {
    curl_slist* list = nullptr;
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    reply_.clear();
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    const CURLcode rc = curl_easy_perform(curl_);
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    return rc == CURLE_OK && status == 200 ? &reply_ : nullptr;
  }

 private:
  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
  }
  CURL* curl_;
  std::string url_;
  std::string reply_;
};

// One signed call; true when the answer is a success (or the expected error).
bool call(Client& client, const Target& t, const std::string& body) {
  const std::int64_t ts =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string content_type = "application/json; charset=utf-8";
  ig::api::ReceivedRequest r{"POST", "/", "", content_type, t.host, body, {}};
  const std::string date = ig::api::utc_date(ts);
  const std::string canonical = ig::api::canonical_request(r, {"content-type", "host"});
  const std::string signature = ig::api::tc3_signature(t.secret_key, ts, date, "cvm", canonical);
  const std::vector<std::string> headers = {
      "Authorization: TC3-HMAC-SHA256 Credential=" + t.secret_id + "/" + date +
          "/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + signature,
      "Content-Type: " + content_type,
      "X-TC-Action: " + t.action,
      "X-TC-Timestamp: " + std::to_string(ts),
      "X-TC-Version: 2017-03-12",
      "X-TC-Region: ap-guangzhou",
      "Expect:"};
  const std::string* reply = client.post(headers, body);
  if (reply == nullptr) return false;
  if (reply->find("\"Error\"") == std::string::npos) return true;
  return !t.expect.empty() && reply->find("\"" + t.expect + "\"") != std::string::npos;
}

struct Step {
  double rate = 0;
  double achieved = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  std::uint64_t errors = 0;
  std::uint64_t sent = 0;
};

Step run_step(const Target& t, double rate, double seconds, int connections) {
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> counter{0};
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Client client(t);
      auto& mine = latencies[static_cast<std::size_t>(c)];
      for (std::uint64_t k = static_cast<std::uint64_t>(c); k < total; k += static_cast<std::uint64_t>(connections)) {
        const auto scheduled = start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(static_cast<double>(k) / rate));
        std::this_thread::sleep_until(scheduled);
        if (!call(client, t, fill(t.body, counter++))) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  return Step{rate,          static_cast<double>(all.size()) / elapsed,
              pct(0.5),      pct(0.9),
              pct(0.99),     all.empty() ? 0.0 : all.back(),
              errors.load(), all.size()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: api_load URL SECRET_ID SECRET_KEY ACTION BODY [--rates R,R,...] [--seconds S] "
                 "[--connections C] [--expect CODE] [--requests N]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Target t;
  const std::string url = argv[1];
  const auto hostport = url.substr(url.find("://") + 3);
  t.host = hostport.substr(0, hostport.find(':'));
  t.port = std::atoi(hostport.substr(hostport.find(':') + 1).c_str());
  t.secret_id = argv[2];
  t.secret_key = argv[3];
  t.action = argv[4];
  t.body = argv[5];
  std::vector<double> rates = {250, 500, 1000, 2000, 4000};
  double seconds = 5;
  int connections = 8;
  long requests = 0;
  for (int i = 6; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--rates") {
      rates.clear();
      for (std::size_t at = 0; at < value.size();) {
        const auto comma = value.find(',', at);
        rates.push_back(std::atof(value.substr(at, comma - at).c_str()));
        at = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else if (flag == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (flag == "--connections") {
      connections = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--expect") {
      t.expect = value;
    } else if (flag == "--requests") {
      requests = std::atol(value.c_str());
    }
  }
  if (requests > 0) {
    Client client(t);
    for (long n = 0; n < requests; ++n) {
      if (!call(client, t, fill(t.body, static_cast<std::uint64_t>(n)))) {
        std::fprintf(stderr, "api_load: request %ld failed\n", n);
        return 1;
      }
    }
    return 0;
  }
  std::printf("%-22s %10s %10s %9s %9s %9s %9s %8s\n", "action", "target/s", "achieved/s", "p50 ms", "p90 ms", "p99 ms",
              "max ms", "errors");
  for (const double rate : rates) {
    const Step s = run_step(t, rate, seconds, connections);
    std::printf("%-22s %10.0f %10.0f %9.2f %9.2f %9.2f %9.2f %8llu\n", t.action.c_str(), s.rate, s.achieved, s.p50,
                s.p90, s.p99, s.max, static_cast<unsigned long long>(s.errors));
    std::fflush(stdout);
  }
  return 0;
}
