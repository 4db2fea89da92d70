#include "base/error.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace ig {
namespace {

using test::HasError;

Result<int> parse_positive(int v) {
  if (v <= 0) return Error::corrupt(fmt::format("value {} not positive", v));
  return v;
}

Result<int> doubled(int v) {
  const int x = IG_TRY(parse_positive(v));
  return x * 2;
}

Result<int> nested(int v) {
  return IG_TRY(doubled(IG_TRY(parse_positive(v)))) + 1;
}

Result<void> with_context(int v) {
  IG_TRY_CTX(parse_positive(v), "entry {}", 7);
  return ok();
}

TEST(Error, TryPropagatesValueOrError) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_THAT(doubled(-1), HasError(ErrorCode::kCorrupt, "value -1 not positive"));
  EXPECT_EQ(*nested(2), 5);
  EXPECT_THAT(nested(0), HasError(ErrorCode::kCorrupt, "value 0"));
}

TEST(Error, ContextIsPrefixed) {
  EXPECT_TRUE(with_context(1).has_value());
  EXPECT_THAT(with_context(-3), HasError(ErrorCode::kCorrupt, "entry 7: value -3 not positive"));
}

TEST(Error, ErrnoMapping) {
  EXPECT_EQ(Error::from_errno("open x", ENOENT).code, ErrorCode::kNotFound);
  EXPECT_EQ(Error::from_errno("open x", EACCES).code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Error::from_errno("read x", EIO).code, ErrorCode::kIo);
  EXPECT_EQ(error_code_name(ErrorCode::kLimitExceeded), "limit-exceeded");
}

}  // namespace
}  // namespace ig
