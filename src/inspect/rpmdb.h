// The rpm package database, read from the guest's bytes: is a package installed, and which
// version (the RHEL family's equivalent of dpkg's status file).
//
// rpm 4.16+ keeps its database in SQLite (`/var/lib/rpm/rpmdb.sqlite`, or
// `/usr/lib/sysimage/rpm/rpmdb.sqlite`): a `Name` index table points into `Packages`, whose
// blobs are rpm header blobs. The file's bytes are handed to SQLite in memory
// (sqlite3_deserialize, read-only, defensive mode, a bounded number of VM steps), so nothing on
// the host is opened and a hostile database can neither write nor loop. The header blob is
// parsed here, bounded: index count, data length, every offset checked.
//
// Not read: the Berkeley DB `Packages` of rpm < 4.16 (RHEL 7, 8) and SUSE's ndb; their guests are
// judged by the cloud-init program and Python package instead.
// Thread safety: pure functions. Errors: kCorrupt naming the structure, kLimitExceeded.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "base/error.h"

namespace ig {

struct RpmPackage {
  std::string name;
  std::string version;
  std::string release;
  std::string evr() const { return release.empty() ? version : version + "-" + release; }
};

// NAME, VERSION and RELEASE from one header blob (as stored in the database, without the lead).
Result<RpmPackage> parse_rpm_header(std::span<const std::byte> blob);

// The installed package called `name` in an rpmdb.sqlite image, or nothing.
Result<std::optional<RpmPackage>> rpmdb_find(std::span<const std::byte> database, std::string_view name);

}  // namespace ig
