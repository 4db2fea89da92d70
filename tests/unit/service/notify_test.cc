// Notifications against real oracles: the webhook signature against `openssl dgst -hmac`, the
// e-mail as Python's e-mail parser reads it, and a delivery over SMTP to aiosmtpd (Debian's
// python3-aiosmtpd), read back from its Maildir. Also the back-off, the endpoint checks, the
// service configuration's named mistakes and the object-storage region rule.
#include "service/notify.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "service/config.h"
#include "service/worker.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

catalog::Delivery delivery(const std::string& language, const std::string& title, const std::string& content) {
  catalog::Delivery d;
  d.delivery_id = 7;
  d.channel = "EMAIL";
  d.endpoint = "ops@example.com";
  d.message.message_id = "msg-abcdefgh";
  d.message.image_id = "img-12345678";
  d.message.kind = "IMPORT_FAILED";
  d.message.language = language;
  d.message.title = title;
  d.message.content = content;
  d.message.error_code = "InvalidUrl";
  return d;
}

TEST(Notify, WebhookSignatureIsTheHmacOpensslComputes) {
  const std::string body = service::webhook_body(delivery("en", "t", "c").message);
  const std::string expected =
      run_ok("printf '%s' " + shell_quote("1700000000." + body) + " | openssl dgst -sha256 -hmac 's3cret' -r");
  EXPECT_EQ(service::webhook_signature("s3cret", 1700000000, body), "sha256=" + expected.substr(0, 64));
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["MessageId"], "msg-abcdefgh");
  EXPECT_EQ(j["ErrorCode"], "InvalidUrl");
}

TEST(Notify, MailParsesWithItsUtf8SubjectAndBody) {
  TempDir dir;
  service::NotifyConfig config;
  config.mail_from = "imagegate@example.com";
  const std::string title = "镜像 web-1 导入失败";
  const std::string content = "您的镜像 web-1（img-12345678）无法导入。错误码 InvalidUrl：签名 URL 已过期";
  write_file(dir.file("mail.eml"),
             text(service::mail_text(config, delivery("zh", title, content), "Sun, 22 Nov 2026 21:00:00 +0000")));
  const std::string parsed = run_ok(
      "/usr/bin/python3 -c \"import email, email.policy, sys; m = email.message_from_binary_file(open(sys.argv[1], "
      "'rb'), policy=email.policy.default); print(m['Subject']); print(m['To']); print(m['From']); "
      "print(m.get_content().strip()); print(m['X-Imagegate-Message-Id'])\" " +
      dir.file("mail.eml"));
  EXPECT_EQ(parsed, title + "\nops@example.com\nimagegate <imagegate@example.com>\n" + content + "\nmsg-abcdefgh\n");
}

TEST(Notify, BackOffDoublesUpToTheLongestDelay) {
  service::NotifyConfig config;
  config.retry_min_seconds = 10;
  config.retry_max_seconds = 100;
  EXPECT_EQ(service::retry_delay(config, 1), 10);
  EXPECT_EQ(service::retry_delay(config, 2), 20);
  EXPECT_EQ(service::retry_delay(config, 4), 80);
  EXPECT_EQ(service::retry_delay(config, 5), 100);
  EXPECT_EQ(service::retry_delay(config, 1000), 100);
}

TEST(Notify, EndpointsAreChecked) {
  EXPECT_TRUE(service::valid_mail_address("ops@example.com"));
  for (const char* bad :
       {"", "ops", "@example.com", "ops@", "a@b@c", "ops@example.com\r\nBcc: x@y", "<ops@x.y>", "o ps@example.com"}) {
    EXPECT_FALSE(service::valid_mail_address(bad)) << bad;
  }
  EXPECT_TRUE(service::valid_webhook_url("https://hooks.example.com/imagegate?x=1"));
  for (const char* bad : {"", "ftp://x/", "http://", "http:///path", "https://a b/", "file:///etc/passwd"}) {
    EXPECT_FALSE(service::valid_webhook_url(bad)) << bad;
  }
}

// A real SMTP server (aiosmtpd, writing a Maildir) on a free loopback port.
class SmtpSink {
 public:
  explicit SmtpSink(const TempDir& dir) : maildir_(dir.file("maildir")) {
    port_ =
        std::stoi(run_ok("/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
                         "print(s.getsockname()[1])'"));
    pid_ = run_ok("/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:" + std::to_string(port_) +
                  " -c aiosmtpd.handlers.Mailbox " + maildir_ + " > " + dir.file("smtp.log") + " 2>&1 & echo $!");
    for (int i = 0;
         i < 100 &&
         run("{ bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port_) + "' 2>/dev/null; }").exit_code != 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~SmtpSink() { run("kill " + pid_); }
  int port() const { return port_; }
  std::vector<std::string> mails() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir_ + "/new", ec)) out.push_back(e.path());
    return out;
  }

 private:
  std::string maildir_;
  int port_ = 0;
  std::string pid_;
};

TEST(Notify, SendsMailOverSmtpAndNamesTheFailureWhenTheServerIsDown) {
  if (run("/usr/bin/python3 -c 'import aiosmtpd'").exit_code != 0) {
    GTEST_SKIP() << "python3-aiosmtpd is not installed (scripts/install-deps.sh installs it)";
  }
  TempDir dir;
  service::NotifyConfig config;
  config.timeout_seconds = 10;
  {
    SmtpSink sink(dir);
    config.smtp_url = fmt::format("smtp://127.0.0.1:{}", sink.port());
    EXPECT_EQ(service::send_mail(config, delivery("pt", "Imagem web-1 importada", "Sua imagem está pronta.")), "");
    const auto mails = sink.mails();
    ASSERT_EQ(mails.size(), 1u);
    const std::string parsed = run_ok(
        "/usr/bin/python3 -c \"import email, email.policy, sys; m = email.message_from_binary_file(open(sys.argv[1], "
        "'rb'), policy=email.policy.default); print(m['Subject']); print(m.get_content().strip())\" " +
        mails[0]);
    EXPECT_EQ(parsed, "Imagem web-1 importada\nSua imagem está pronta.\n");
  }
  // The sink is gone: the attempt fails, saying what.
  const std::string error = service::send_mail(config, delivery("en", "t", "c"));
  EXPECT_NE(error.find("SMTP smtp://127.0.0.1:"), std::string::npos) << error;
  config.smtp_url.clear();
  EXPECT_NE(service::send_mail(config, delivery("en", "t", "c")).find("no SMTP server"), std::string::npos);
}

TEST(ServiceConfig, NamesEveryMistake) {
  const auto base = nlohmann::json::parse(R"({"accounts": [{"secret_id": "AKID1", "secret_key": "k"}]})");
  auto ok = service::parse_service_config(base, "/data");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->worker.data_dir, "/data");
  EXPECT_EQ(ok->limits.image_quota, 500);
  const std::pair<const char*, const char*> cases[] = {
      {R"({"accounts": [{"secret_id": "A", "secret_key": "k", "language": "fr"}]})", "\"language\" 'fr'"},
      {R"({"object_storage_hosts": "x"})", "\"object_storage_hosts\" must be an array"},
      {R"({"object_storage": [{"region": "ap-guangzhou"}]})", "needs a non-empty string \"host\""},
      {R"({"object_storage": [{"host": "h", "region": 3}]})", "\"object_storage[].region\" must be a string"},
      {R"({"notify": []})", "\"notify\" must be an object"},
      {R"({"notify": {"smtp_url": "http://x"}})", "\"notify.smtp_url\" must start with smtp://"},
      {R"({"notify": {"mail_from": "nobody"}})", "\"notify.mail_from\" must be an e-mail address"},
      {R"({"notify": {"max_attempts": 0}})", "\"notify.max_attempts\" must be a positive integer"},
      {R"({"notify": {"retry_min_seconds": 60, "retry_max_seconds": 10}})", "must not be below"},
      {R"({"notify": {"timeout_seconds": 30, "lease_seconds": 30}})", "\"notify.lease_seconds\" must be above"},
      {R"({"image_quota": -1})", "\"image_quota\" must be a positive integer"},
      {R"({"unverified_images": "maybe"})", "\"unverified_images\" must be \"refuse\" or \"import\""},
      {R"({"http": 5})", "\"http\" must be an object"},
      {R"({"http": {"max_body_bytes": 0}})", "\"http.max_body_bytes\" must be a positive integer"},
      {R"({"http": {"max_body_bytes": 100, "request_memory_bytes": 99}})",
       "\"http.request_memory_bytes\" must not be below \"http.max_body_bytes\""},
      {R"({"http": {"max_connections": 100000}})", "\"http.max_connections\" must be at most 65536"},
      {R"({"sandbox": 1})", "\"sandbox\" must be an object"},
      {R"({"sandbox": {"cpu_seconds": 0}})", "\"sandbox.cpu_seconds\" must be a positive integer"},
      {R"({"sandbox": {"memory_bytes": 1000}})", "\"sandbox.memory_bytes\" must be at least 67108864"},
      {R"({"sandbox": {"wall_second": 5}})", "\"sandbox.wall_second\" is not a sandbox budget"},
  };
  for (const auto& [patch, expected] : cases) {
    nlohmann::json j = base;
    j.merge_patch(nlohmann::json::parse(patch));
    const auto e = service::parse_service_config(j, "/data");
    ASSERT_FALSE(e) << patch;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument) << patch;
    EXPECT_NE(e.error().message.find(expected), std::string::npos) << patch << " -> " << e.error().message;
  }
  nlohmann::json j = base;
  j.merge_patch(nlohmann::json::parse(
      R"({"object_storage_hosts": ["127.0.0.1:9"], "object_storage": [{"host": "*.cos.ap-shanghai-fsi.myqcloud.com",
          "region": "ap-shanghai-fsi"}], "notify": {"smtp_url": "smtp://127.0.0.1:25", "retry_min_seconds": 1,
          "timeout_seconds": 5, "lease_seconds": 8}})"));
  auto full = service::parse_service_config(j, "/data");
  ASSERT_TRUE(full) << full.error().message;
  ASSERT_EQ(full->worker.storage.size(), 2u);
  EXPECT_EQ(full->worker.storage[1].region, "ap-shanghai-fsi");
  EXPECT_EQ(full->notify.retry_min_seconds, 1);
  EXPECT_FALSE(full->worker.import_unverified);
  j.merge_patch(nlohmann::json::parse(R"({"unverified_images": "import"})"));
  EXPECT_TRUE(service::parse_service_config(j, "/data")->worker.import_unverified);
  EXPECT_EQ(full->notify.lease_seconds, 8);
  EXPECT_EQ(full->http.max_body, 10u * 1024 * 1024);  // the defaults: the real API's 10 MiB
  j.merge_patch(nlohmann::json::parse(R"({"http": {"max_body_bytes": 1000, "request_memory_bytes": 5000,
      "max_connections": 7, "idle_timeout_seconds": 9}})"));
  auto http = service::parse_service_config(j, "/data");
  ASSERT_TRUE(http) << http.error().message;
  EXPECT_EQ(http->http.max_body, 1000u);
  EXPECT_EQ(http->http.request_memory, 5000u);
  EXPECT_EQ(http->http.max_connections, 7u);
  EXPECT_EQ(http->http.idle_timeout_seconds, 9u);
  // The sandbox's budgets reach the worker's Limits; those not given keep their defaults.
  EXPECT_EQ(http->worker.limits.sandbox_wall_seconds, Limits{}.sandbox_wall_seconds);
  j.merge_patch(nlohmann::json::parse(R"({"sandbox": {"memory_bytes": 1073741824, "cpu_seconds": 60,
      "wall_seconds": 120}})"));
  auto sandbox = service::parse_service_config(j, "/data");
  ASSERT_TRUE(sandbox) << sandbox.error().message;
  EXPECT_EQ(sandbox->worker.limits.sandbox_memory_bytes, 1073741824u);
  EXPECT_EQ(sandbox->worker.limits.sandbox_cpu_seconds, 60u);
  EXPECT_EQ(sandbox->worker.limits.sandbox_wall_seconds, 120u);
  EXPECT_EQ(sandbox->worker.limits.sandbox_output_bytes, Limits{}.sandbox_output_bytes);
}

TEST(Worker, FinanceAndOverseasRegionsReadOnlyTheirOwnRegion) {
  EXPECT_TRUE(service::region_allows("ap-guangzhou", "ap-shanghai"));
  EXPECT_TRUE(service::region_allows("ap-shanghai-fsi", "ap-shanghai-fsi"));
  EXPECT_FALSE(service::region_allows("ap-shanghai-fsi", "ap-shanghai"));
  EXPECT_FALSE(service::region_allows("ap-singapore", "ap-guangzhou"));
  EXPECT_TRUE(service::region_allows("ap-singapore", "ap-singapore"));
  EXPECT_TRUE(service::region_allows("ap-singapore", ""));  // an endpoint serving every region
}

TEST(Worker, UrlsOutsideTheObjectStorageOrItsRegionAreRefusedBeforeAnyRequest) {
  TempDir dir;
  service::WorkerConfig config;
  config.storage = {{"127.0.0.1:1", ""}, {"*.cos.ap-shanghai-fsi.myqcloud.com", "ap-shanghai-fsi"}};
  const std::string dest = dir.file("x");
  auto f = service::fetch_object("http://203.0.113.9/a.qcow2", "ap-guangzhou", dest, config);
  EXPECT_EQ(f.error_code, "InvalidUrl");
  EXPECT_EQ(f.cause.id, "url.not-storage");
  EXPECT_EQ(f.cause.args.at(0).text(), "203.0.113.9");
  // A bucket subdomain of the finance zone's endpoint, read from another region.
  f = service::fetch_object("https://b-1250000001.cos.ap-shanghai-fsi.myqcloud.com/a.qcow2", "ap-singapore", dest,
                            config);
  EXPECT_EQ(f.cause.id, "url.region");
  EXPECT_EQ(f.cause.args, (std::vector<MessageArg>{"ap-shanghai-fsi", "ap-singapore"}));
  // A configured host with nothing listening: unreachable, and no scratch file is left.
  f = service::fetch_object("http://127.0.0.1:1/a.qcow2", "ap-guangzhou", dest, config);
  EXPECT_EQ(f.error_code, "InvalidUrl");
  EXPECT_EQ(f.cause.id, "url.unreachable");
  EXPECT_FALSE(std::filesystem::exists(dest));
}

// A loopback object store (Python's http.server) that answers /good with its object and the
// right MD5 ETag, /bad with another object's ETag, and logs every GET to DIR/requests.
class TestStore {
 public:
  explicit TestStore(TempDir& dir) : dir_(dir) {
    write_file(dir.file("store.py"), text(R"py(
import hashlib, http.server, sys
body = b"imagegate object\n"
log = open(sys.argv[1], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.path + "\n")
        tag = hashlib.md5(body if self.path == "/good" else b"other").hexdigest()
        self.send_response(200)
        self.send_header("ETag", '"%s"' % tag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
)py"));
    pid_ = run_ok("/usr/bin/python3 " + dir.file("store.py") + " " + dir.file("requests") + " > " + dir.file("port") +
                  " 2>&1 & echo $!");
    while (!pid_.empty() && pid_.back() == '\n') pid_.pop_back();
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      port_ = run_ok("cat " + dir.file("port"));
      if (!port_.empty() && port_.back() == '\n') port_.pop_back();
    }
    config_.storage = {{"127.0.0.1:" + port_, ""}};
  }
  ~TestStore() { stop(); }
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  bool up() const { return !port_.empty(); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + port_ + path; }
  const service::WorkerConfig& config() const { return config_; }
  int requests() const { return std::stoi(run_ok("cat " + dir_.file("requests") + " 2>/dev/null | wc -l")); }
  void stop() {
    if (!pid_.empty()) run("kill " + pid_ + "; while kill -0 " + pid_ + " 2>/dev/null; do sleep 0.05; done");
    pid_.clear();
  }

 private:
  TempDir& dir_;
  std::string pid_;
  std::string port_;
  service::WorkerConfig config_;
};

TEST(Worker, DownloadsAreHashedAndCheckedAgainstTheETag) {
  TempDir dir;
  TestStore store(dir);
  ASSERT_TRUE(store.up());
  auto good = service::fetch_object(store.url("/good"), "", dir.file("g"), store.config());
  auto bad = service::fetch_object(store.url("/bad"), "", dir.file("b"), store.config());
  store.stop();
  ASSERT_TRUE(good.ok) << good.cause.id;
  EXPECT_EQ(good.sha256, run_ok("sha256sum " + dir.file("g")).substr(0, 64));
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error_code, "InternalError");
  EXPECT_EQ(bad.cause.id, "url.corrupt");
  EXPECT_FALSE(std::filesystem::exists(dir.file("b")));
}

TEST(Worker, ADownloadIsReusedOnlyWhileItStillHashesToItsRecord) {
  TempDir dir;
  TestStore store(dir);
  ASSERT_TRUE(store.up());
  const std::string path = dir.file("img.src");
  const std::string expected = run_ok("printf 'imagegate object\\n' | sha256sum").substr(0, 64);
  auto fetch = [&] { return service::fetch_once(store.url("/good"), "", path, store.config(), {}); };

  auto first = fetch();
  ASSERT_TRUE(first.ok) << first.cause.id;
  EXPECT_EQ(first.sha256, expected);
  EXPECT_EQ(run_ok("cat " + path + ".sha256"), expected);
  EXPECT_EQ(store.requests(), 1);
  EXPECT_FALSE(std::filesystem::exists(path + ".part"));

  auto again = fetch();  // the record matches: no request
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.sha256, expected);
  EXPECT_EQ(store.requests(), 1);

  run_ok("printf x >> " + path);  // the kept bytes no longer hash to the record
  auto damaged = fetch();
  ASSERT_TRUE(damaged.ok) << damaged.cause.id;
  EXPECT_EQ(store.requests(), 2);
  EXPECT_EQ(run_ok("sha256sum " + path).substr(0, 64), expected);

  write_file(path + ".sha256", text("not a digest"));  // a damaged record
  auto unreadable = fetch();
  ASSERT_TRUE(unreadable.ok) << unreadable.cause.id;
  EXPECT_EQ(store.requests(), 3);
  EXPECT_EQ(run_ok("cat " + path + ".sha256"), expected);

  std::filesystem::remove(path + ".sha256");  // no record at all
  ASSERT_TRUE(fetch().ok);
  EXPECT_EQ(store.requests(), 4);

  store.stop();  // the object is gone; a matching download is still enough
  auto offline = fetch();
  ASSERT_TRUE(offline.ok) << offline.cause.id;
  EXPECT_EQ(offline.sha256, expected);
  EXPECT_EQ(offline.bytes, 17u);
  EXPECT_EQ(store.requests(), 4);
}

}  // namespace
}  // namespace ig::test
