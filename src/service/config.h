// The service's configuration file (JSON), beyond the API's accounts (api/server.h):
//
//   "object_storage": [{"host": "127.0.0.1:18080", "region": "ap-guangzhou"},
//                      {"host": "*.cos.ap-shanghai-fsi.myqcloud.com", "region": "ap-shanghai-fsi"}],
//   "object_storage_hosts": ["host:port"],          (the same without regions)
//   "max_download_bytes": 644245094400,
//   "image_quota": 500, "subscription_quota": 10, "share_quota": 500,
//   "task_lease_seconds": 20,      (a crashed worker's task is taken again after this)
//   "download_stall_seconds": 120, (a download under 1 KiB/s for this long is abandoned)
//   "catalog": "postgresql://user@127.0.0.1:5432/imagegate",   (default DATA/catalog.sqlite)
//   "image_store": {"location": "s3://images/prod", "endpoint": "http://127.0.0.1:18080",
//                   "region": "us-east-1", "access_key": "…", "secret_key": "…"},
//                                  (default {"location": "DATA/images"})
//   "notify": {"smtp_url": "smtp://127.0.0.1:2525", "mail_from": "imagegate@example.com",
//              "smtp_user": "", "smtp_password": "", "retry_min_seconds": 10,
//              "retry_max_seconds": 900, "max_attempts": 200}
//   "http": {"max_body_bytes": 10485760, "request_memory_bytes": 67108864,
//            "max_connections": 256, "idle_timeout_seconds": 30}    (service/http.h)
//   "sandbox": {"memory_bytes": 4294967296, "cpu_seconds": 3600, "wall_seconds": 7200,
//               "output_bytes": 549755813888}     (the reader's budgets: base/limits.h)
//
// Every mistake is named: the field, and what it must be.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/server.h"
#include "service/actions.h"
#include "service/http.h"
#include "service/notify.h"
#include "service/worker.h"
#include "store/image_store.h"

namespace ig::service {

struct ServiceConfig {
  api::ApiConfig api;
  WorkerConfig worker;
  NotifyConfig notify;
  HttpLimits http;
  ServiceLimits limits;
  std::string catalog;       // a SQLite file or a postgresql:// URL
  store::StoreConfig store;  // the image repository
};

// `data_dir` goes into the worker's and the actions' settings.
Result<ServiceConfig> parse_service_config(const nlohmann::json& j, const std::string& data_dir);

}  // namespace ig::service
