// The worker's housekeeping around a crash: scratch files of imports that ended elsewhere are
// swept, those of imports still running are kept.
#include "service/worker.h"

#include <filesystem>

#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

catalog::Image image(const std::string& id, const std::string& name) {
  catalog::Image i;
  i.image_id = id;
  i.account = "1001";
  i.name = name;
  i.image_url = "http://example.invalid/" + name;
  return i;
}

TEST(Worker, SweepsScratchFilesOfImportsThatAreNoLongerImporting) {
  TempDir dir;
  auto c = catalog::open_catalog(dir.file("catalog.sqlite"));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("img-running0", "running")), IsOk());
  ASSERT_THAT((*c)->create_import(image("img-finished", "finished")), IsOk());
  auto task = (*c)->claim_task(1000, 60);
  ASSERT_TRUE(task->has_value());
  ASSERT_EQ((*task)->image.image_id, "img-running0");
  auto other = (*c)->claim_task(1000, 60);
  ASSERT_TRUE(other->has_value());
  catalog::Outcome failed;
  failed.error_code = "InvalidUrl";
  failed.error_message = "why";
  ASSERT_THAT((*c)->finish_task(**other, failed, service::message_for((*other)->image, failed)), IsOk());

  const fs::path scratch = fs::path(dir.path()) / "scratch";
  fs::create_directories(scratch);
  const std::vector<std::string> kept = {"img-running0.src", "img-running0.src.sha256", "img-running0.data0.part"};
  const std::vector<std::string> swept = {"img-finished.src", "img-finished.src.sha256", "img-deleted0.src.part",
                                          "stray"};
  for (const auto& n : kept) write_file((scratch / n).string(), text("x"));
  for (const auto& n : swept) write_file((scratch / n).string(), text("x"));

  EXPECT_EQ(service::sweep_scratch(**c, dir.path().string()), static_cast<std::int64_t>(swept.size()));
  for (const auto& n : kept) EXPECT_TRUE(fs::exists(scratch / n)) << n;
  for (const auto& n : swept) EXPECT_FALSE(fs::exists(scratch / n)) << n;
  // No scratch directory at all is nothing to sweep.
  TempDir empty;
  EXPECT_EQ(service::sweep_scratch(**c, empty.path().string()), 0);
}

}  // namespace
}  // namespace ig::test
