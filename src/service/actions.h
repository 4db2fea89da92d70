// The catalog actions of the API: ImportImage (validation, DryRun, the synchronous error codes
// of SPEC §4), DescribeImages (ImageIds or Filters, Offset/Limit), DeleteImages and
// ModifyImageAttribute. Every action works in the caller's account only: another account's
// ImageId is simply not found.
#pragma once

#include "api/server.h"
#include "service/catalog.h"

namespace ig::service {

struct ServiceLimits {
  std::int64_t image_quota = 500;  // custom images per account
};

void register_catalog_actions(api::Api& api, Catalog& catalog, ServiceLimits limits = {});

}  // namespace ig::service
