#include "catalog/driver.h"

namespace ig::catalog {

Result<std::unique_ptr<Driver>> open_postgres_driver(const std::string& url) {
  (void)url;
  return Error::unsupported("catalog: PostgreSQL is not built in yet");
}

}  // namespace ig::catalog
