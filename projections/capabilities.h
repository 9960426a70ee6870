// The `capabilities` read model (SPEC §1, §7): capability rows rendered as the resource `C`,
// newest first, with a trigger_type index.
//
// Keys:
//   r <name>                          → the capability stream's version (8 bytes) and the JSON
//   c <~position>                     → name (registration order, newest first)
//   t <trigger_type> 0 <~position>    → name
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace annals::projections {

class CapabilitiesProjection final : public Projection {
 public:
  std::string_view name() const override { return "capabilities"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
};

class CapabilitiesQueries {
 public:
  CapabilitiesQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::optional<VersionedRow> get(const std::string& name) const;
  std::vector<std::string> list(const std::optional<std::string>& trigger_type, std::int64_t limit,
                                std::int64_t offset) const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

}  // namespace annals::projections
