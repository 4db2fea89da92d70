// The converted image's stream from the sandboxed reader into the store (service/store_pump.h):
// what PipeSink writes, StorePump stores byte for byte; and every way a compromised reader could
// break the stream — a cut frame, an unknown one, a write before the store is opened, a second
// open, an oversized write, a write, size or size hint past the output budget — is refused,
// named, with nothing stored, and the rest of the pipe read so that the writer never blocks.
#include "service/store_pump.h"

#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>

#include "sandbox/sandbox.h"
#include "store/image_store.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

constexpr std::uint64_t kBudget = std::uint64_t{1} << 20;

class StorePumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreConfig sc;
    sc.location = dir_.file("images");
    auto s = store::open_image_store(sc);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }
  // Runs a pump over what `write` writes into a pipe (on a thread of its own); returns the
  // pump's commit.
  Result<void> pump(const std::function<void(int)>& write) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
      write(fds[1]);
      ::close(fds[1]);
    });
    service::StorePump pump(*store_, "img-pump.qcow2", kBudget);
    pump.run(fds[0]);
    writer.join();
    ::close(fds[0]);
    return pump.commit();
  }
  // A frame as PipeSink writes it; `n` overrides the length field of a 'W' frame.
  static std::string frame(char tag, std::uint64_t value, const std::string& data = "",
                           std::optional<std::uint64_t> n = std::nullopt) {
    std::string f(1, tag);
    f.append(reinterpret_cast<const char*>(&value), sizeof value);
    if (tag == 'W') {
      const std::uint64_t length = n.value_or(data.size());
      f.append(reinterpret_cast<const char*>(&length), sizeof length);
      f += data;
    }
    return f;
  }
  static void send(int fd, const std::string& bytes) { ASSERT_TRUE(write_all(fd, bytes.data(), bytes.size())); }
  bool stored() {
    auto listed = store_->list("img-pump");
    EXPECT_THAT(listed, IsOk());
    return listed && !listed->empty();
  }
  TempDir dir_;
  std::unique_ptr<store::ImageStore> store_;
};

TEST_F(StorePumpTest, WhatPipeSinkWritesIsStoredByteForByte) {
  std::string data(700 * 1024, '\0');
  std::mt19937 random(7);
  for (char& c : data) c = static_cast<char>(random());
  auto committed = pump([&](int fd) {
    service::PipeSink sink(fd, kBudget);
    ASSERT_THAT(sink.open(data.size()), IsOk());
    const auto bytes = std::as_bytes(std::span(data));
    ASSERT_THAT(sink.write_at(300 * 1024, bytes.subspan(300 * 1024)), IsOk());  // out of order, as the converter may
    ASSERT_THAT(sink.write_at(0, bytes.first(300 * 1024)), IsOk());
    ASSERT_THAT(sink.set_size(data.size()), IsOk());
  });
  ASSERT_THAT(committed, IsOk());
  auto source = store_->open("img-pump.qcow2");
  ASSERT_THAT(source, IsOk());
  ASSERT_EQ((*source)->size(), data.size());
  std::string back(data.size(), '\0');
  ASSERT_THAT((*source)->read_at(0, std::as_writable_bytes(std::span(back))), IsOk());
  EXPECT_TRUE(back == data);
}

TEST_F(StorePumpTest, EveryBrokenStreamIsRefusedNamedAndNothingIsStored) {
  struct Case {
    std::string name;
    std::string stream;
    std::string error;
  };
  const std::string open = frame('H', 4096);
  const std::vector<Case> cases{
      {"nothing", "", "never reached the store"},
      {"a cut head", "H\x01\x02", "the converted image's stream was cut"},
      {"a cut write", open + frame('W', 0, "0123456789", 1000), "the converted image's stream was cut"},
      {"an unknown frame", open + frame('X', 0), "malformed: unknown frame 0x58"},
      {"a write before the open", frame('W', 0, "data"), "it wrote before it opened the store"},
      {"a size before the open", frame('S', 4096), "it sized the image before it opened the store"},
      {"two opens", open + open, "it opened the store twice"},
      {"a write of 1 TiB", open + frame('W', 0, "", std::uint64_t{1} << 40), "a write of 1099511627776 bytes"},
      {"a write past the budget", open + frame('W', std::uint64_t{1} << 63, "data"), "past the output budget"},
      {"a write ending past the budget", open + frame('W', kBudget - 2, "data"),
       "reached 1048578 bytes, past the output budget of 1048576"},
      {"a size past the budget", open + frame('S', std::uint64_t{1} << 50), "sized the image to"},
      {"a size hint past the budget", frame('H', std::uint64_t{1} << 50), "announced 1125899906842624 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto committed = pump([&](int fd) { send(fd, c.stream); });
    ASSERT_FALSE(committed.has_value());
    EXPECT_THAT(committed.error().message, ::testing::HasSubstr(c.error));
    EXPECT_FALSE(stored());
  }
}

// After a broken frame the pump reads on: a writer that sends 8 MiB more (far past a pipe's
// buffer) is not blocked, and none of it is stored.
TEST_F(StorePumpTest, AfterABrokenFrameTheRestIsReadAndDropped) {
  auto committed = pump([&](int fd) {
    send(fd, frame('H', 4096) + frame('X', 0));
    const std::string more(8 << 20, 'x');
    send(fd, frame('W', 0, more));
  });
  ASSERT_FALSE(committed.has_value());
  EXPECT_THAT(committed.error().message, ::testing::HasSubstr("unknown frame"));
  EXPECT_FALSE(stored());
}

}  // namespace
}  // namespace ig::test
