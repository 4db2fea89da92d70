// Assertions shared by the Linux, Windows and FreeBSD check tests.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/sources.h"
#include "rules/check.h"
#include "rules/messages.h"
#include "rules/report.h"
#include "support/test_support.h"

namespace ig::test {

// The check called `name` in the report (a test failure when there is none).
inline const CheckResult& result(const CheckReport& r, const std::string& name) {
  for (const CheckResult& c : r.checks) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no check " << name;
  static const CheckResult none;
  return none;
}

// The arguments of `m` as they render in English (a sentence argument rendered too).
inline std::vector<std::string> args_en(const Message& m) {
  std::vector<std::string> out;
  for (const MessageArg& a : m.args) out.push_back(render_arg(a, Lang::kEn));
  return out;
}

// The evidence lines of `c` as they render in English.
inline std::vector<std::string> evidence_en(const CheckResult& c) {
  std::vector<std::string> out;
  for (const Message& e : c.evidence) out.push_back(render(e, Lang::kEn));
  return out;
}

// The verdict: failed with `code` at `check_name`, for the cause `id`.
inline void expect_failure(const CheckReport& r, const std::string& code, const std::string& check_name,
                           const std::string& id) {
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.error_code, code);
  EXPECT_EQ(r.failed_check, check_name);
  EXPECT_EQ(r.reason.id, id) << render(r.reason, Lang::kEn);
}

// The report of `check` on the image file at `path` (a test failure when it cannot be made).
inline CheckReport check_file(const std::string& path, CheckOptions options = {}) {
  auto file = FileSource::open(path);
  EXPECT_THAT(file, IsOk());
  if (!file) return CheckReport{};
  auto r = check_image(SourcePtr(std::move(*file)), options);
  EXPECT_THAT(r, IsOk());
  return r ? *r : CheckReport{};
}

}  // namespace ig::test
