#include "service/params.h"

#include <gtest/gtest.h>

namespace ig::service {
namespace {

using enum ParamType;
using nlohmann::json;

constexpr ParamSpec kItem[] = {{"Name", kString, true}, {"Values", kStringList, true}};
constexpr ParamSpec kSchema[] = {{"ImageName", kString, true},
                                 {"DryRun", kBoolean},
                                 {"Limit", kInteger},
                                 {"ImageIds", kStringList},
                                 {"Filters", kObjectList, false, kItem}};

std::string code_of(const json& params) {
  const auto e = check_params(params, kSchema);
  return e ? e->error_code : "";
}

TEST(ParamsTest, AcceptsEveryDeclaredType) {
  EXPECT_EQ(code_of({{"ImageName", "a"},
                     {"DryRun", true},
                     {"Limit", 10},
                     {"ImageIds", {"img-1"}},
                     {"Filters", {{{"Name", "n"}, {"Values", {"v"}}}}}}),
            "");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"DryRun", nullptr}}), "");  // null is absent
}

TEST(ParamsTest, WrongTypeIsInvalidParameter) {
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"DryRun", "yes"}}), "InvalidParameter");
  EXPECT_EQ(code_of({{"ImageName", 5}}), "InvalidParameter");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"Limit", "10"}}), "InvalidParameter");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"Limit", 1.5}}), "InvalidParameter");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"ImageIds", {"img-1", 2}}}), "InvalidParameter");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"Filters", {{{"Name", "n"}, {"Values", "v"}}}}}), "InvalidParameter");
  EXPECT_EQ(code_of(json::array()), "InvalidParameter");
}

TEST(ParamsTest, UnknownParameterIsNamed) {
  const auto e = check_params({{"ImageName", "a"}, {"ImportImageDataDisks", json::array()}}, kSchema);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error_code, "UnknownParameter");
  const std::string text = render(e->error_message, Lang::kEn);
  EXPECT_NE(text.find("ImportImageDataDisks"), std::string::npos) << text;
  const auto nested = check_params({{"ImageName", "a"}, {"Filters", {{{"Nme", "n"}, {"Values", {"v"}}}}}}, kSchema);
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->error_code, "UnknownParameter");
  EXPECT_EQ(render(nested->error_message, Lang::kEn), "unknown parameter Filters.0.Nme");
}

TEST(ParamsTest, MissingRequiredIsMissingParameter) {
  EXPECT_EQ(code_of(json::object()), "MissingParameter");
  EXPECT_EQ(code_of({{"ImageName", nullptr}}), "MissingParameter");
  EXPECT_EQ(code_of({{"ImageName", "a"}, {"Filters", {{{"Name", "n"}}}}}), "MissingParameter");
}

// A GET query carries strings only: the schema types them ("123" stays a name, "10" becomes a
// Limit, "true" a DryRun), and what does not convert is refused as for a JSON body.
TEST(ParamsTest, QueryStringsTakeTheSchemasTypes) {
  json seen;
  const api::Handler h = with_schema(kSchema, [&](const api::Call& c) {
    seen = c.params;
    return api::Reply{};
  });
  api::Call call;
  call.from_query = true;
  call.params = api::unflatten_query("ImageName=123&Limit=10&DryRun=true&Filters.0.Name=n&Filters.0.Values.0=7");
  EXPECT_EQ(h(call).error_code, "");
  EXPECT_EQ(seen["ImageName"], "123");
  EXPECT_EQ(seen["Limit"], 10);
  EXPECT_EQ(seen["DryRun"], true);
  EXPECT_EQ(seen["Filters"][0]["Values"][0], "7");
  call.params = api::unflatten_query("ImageName=a&DryRun=yes");
  EXPECT_EQ(h(call).error_code, "InvalidParameter");
  call.params = api::unflatten_query("ImageName=a&Limit=1x");
  EXPECT_EQ(h(call).error_code, "InvalidParameter");
  // The same strings in a JSON body are not converted.
  call.from_query = false;
  call.params = {{"ImageName", "a"}, {"Limit", "10"}};
  EXPECT_EQ(h(call).error_code, "InvalidParameter");
}

}  // namespace
}  // namespace ig::service
