// The one table from internal errors to API errors (issue 12): the code by ErrorCode, a safe
// sentence naming the RequestId for the client, never the internal message.
#include <gtest/gtest.h>

#include "service/actions.h"

namespace ig {
namespace {

TEST(InternalErrors, OneTableAndNoInternalTextForTheClient) {
  api::Call c;
  c.request_id = "0f3c2a9e-1111-2222-3333-444455556666";
  c.action = "DescribeImages";
  const std::string sql = "SQLITE_BUSY: UPDATE images SET state = ?2 WHERE image_id = ?1";
  const std::pair<Error, const char*> cases[] = {
      {Error::not_found(sql), "ResourceNotFound"},   {Error::already_exists(sql), "ResourceInUse"},
      {Error::limit_exceeded(sql), "LimitExceeded"}, {Error::unavailable(sql), "InternalError"},
      {Error::internal(sql), "InternalError"},       {Error::io(sql), "InternalError"},
      {Error::lease_lost(sql), "InternalError"},     {Error::corrupt(sql), "InternalError"},
  };
  for (const auto& [error, code] : cases) {
    const api::Reply r = service::internal_error(c, error);
    EXPECT_EQ(r.error_code, code) << error_code_name(error.code);
    for (const Lang lang : {Lang::kEn, Lang::kZh, Lang::kJa, Lang::kId, Lang::kPt}) {
      const std::string text = render(r.error_message, lang);
      EXPECT_EQ(text.find("SELECT"), std::string::npos) << text;
      EXPECT_EQ(text.find("UPDATE"), std::string::npos) << text;
      EXPECT_NE(text.find(c.request_id), std::string::npos) << text;
    }
  }
  EXPECT_EQ(service::internal_error(c, Error::unavailable(sql)).error_message.id, "api.unavailable");
  EXPECT_EQ(service::internal_error(c, Error::internal(sql)).error_message.id, "api.internal");
  EXPECT_EQ(render(service::internal_error(c, Error::internal(sql)).error_message, Lang::kZh),
            "发生内部错误；服务日志中以 RequestId 0f3c2a9e-1111-2222-3333-444455556666 记录了详细信息");
}

}  // namespace
}  // namespace ig
