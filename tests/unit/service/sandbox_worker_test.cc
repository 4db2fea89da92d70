// The worker reads, judges and converts an upload in the sandbox (sandbox/sandbox.h): a real guest
// disk made by the test tools imports NORMAL through it, the stored qcow2 identical to the upload
// (qemu-img compare); the same import under a 256 KiB output budget ends IMPORTFAILED with
// InternalError, its cause the sandbox's sentence naming the budget, and leaves no file behind.
#include <filesystem>

#include "service/worker.h"
#include "store/image_store.h"
#include "support/guest.h"
#include "text/messages.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

class SandboxedImport : public ::testing::Test {
 protected:
  void SetUp() override {
    LinuxTree tree(dir_.path() / "tree");
    disk_ = make_guest_disk(dir_, (dir_.path() / "tree").string());
    auto c = catalog::open_catalog(dir_.file("catalog.sqlite"));
    ASSERT_THAT(c, IsOk());
    catalog_ = std::move(*c);
    store::StoreConfig sc;
    sc.location = dir_.file("images");
    auto s = store::open_image_store(sc);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }
  // Queues an import of the guest disk whose download is already in the scratch area (as after a
  // first attempt: fetch_once reuses it without a request).
  void queue(const std::string& id) {
    catalog::Image i;
    i.image_id = id;
    i.account = "1001";
    i.name = id;
    i.image_url = "http://storage.invalid/" + id + ".qcow2";
    ASSERT_THAT(catalog_->create_import(i), IsOk());
    const fs::path scratch = dir_.path() / "data" / "scratch";
    fs::create_directories(scratch);
    fs::copy_file(disk_, scratch / (id + ".src"));
    const std::string sum = run_ok("sha256sum " + (scratch / (id + ".src")).string()).substr(0, 64);
    write_file((scratch / (id + ".src.sha256")).string(), text(sum));
  }
  catalog::Image image(const std::string& id) {
    auto page = catalog_->describe("1001", {id}, {}, 0, 10);
    EXPECT_THAT(page, IsOk());
    EXPECT_EQ(page->images.size(), 1u);
    return page->images.empty() ? catalog::Image{} : page->images.front();
  }
  TempDir dir_;
  std::string disk_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<store::ImageStore> store_;
};

TEST_F(SandboxedImport, AGuestDiskImportsThroughTheSandbox) {
  queue("img-sandbox1");
  service::WorkerConfig config;
  config.data_dir = (dir_.path() / "data").string();
  service::Worker worker(*catalog_, *store_, config);
  auto took = worker.run_once();
  ASSERT_THAT(took, IsOk());
  ASSERT_TRUE(*took);
  const catalog::Image img = image("img-sandbox1");
  ASSERT_EQ(img.state, "NORMAL") << img.error_code << ": " << img.error_message;
  EXPECT_TRUE(img.supports_cloudinit);
  run_ok("qemu-img compare " + disk_ + " " + dir_.file("images/img-sandbox1.qcow2"));
  run_ok("qemu-img check " + dir_.file("images/img-sandbox1.qcow2"));
  // The scratch qcow2 the sandboxed converter wrote is gone, with the download.
  for (const auto& e : fs::directory_iterator(dir_.path() / "data" / "scratch")) ADD_FAILURE() << e.path();
}

TEST_F(SandboxedImport, AnOutputBudgetExhaustedIsInternalErrorNamingTheBudget) {
  queue("img-sandbox2");
  service::WorkerConfig config;
  config.data_dir = (dir_.path() / "data").string();
  config.limits.sandbox_output_bytes = 256 << 10;
  service::Worker worker(*catalog_, *store_, config);
  auto took = worker.run_once();
  ASSERT_THAT(took, IsOk());
  ASSERT_TRUE(*took);
  const catalog::Image img = image("img-sandbox2");
  EXPECT_EQ(img.state, "IMPORTFAILED");
  EXPECT_EQ(img.error_code, "InternalError");
  const std::optional<Message> cause = parse_message_json(img.error_cause);
  ASSERT_TRUE(cause.has_value()) << img.error_cause;
  EXPECT_EQ(cause->id, "sandbox.output-budget");
  EXPECT_EQ(img.error_message, "reading the image was stopped: its converted output grew past the budget of 256 KiB");
  EXPECT_FALSE(fs::exists(dir_.file("images/img-sandbox2.qcow2")));
  for (const auto& e : fs::directory_iterator(dir_.path() / "data" / "scratch")) ADD_FAILURE() << e.path();
}

}  // namespace
}  // namespace ig::test
