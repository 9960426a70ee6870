#include "projections/capabilities.h"

#include <limits>
#include <memory>

#include "domain/capability.h"
#include "events/capability_codec.h"
#include "events/keys.h"

namespace annals::projections {

namespace {

constexpr std::size_t kVersionBytes = 8;

std::string inverted(std::uint64_t position) {
  return events::u64_be(std::numeric_limits<std::uint64_t>::max() - position);
}

}  // namespace

void CapabilitiesProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto* stream = e.event().stream();
  if (stream == nullptr || !stream->string_view().starts_with("capability-")) return;
  const std::string name(stream->string_view().substr(11));
  if (auto r = events::decode_capability_registered(e)) {
    capability::Capability c{r->fields, e.event().actor() ? e.event().actor()->str() : "",
                             e.event().recorded_at()};
    rows.put("r" + name, events::u64_be(e.event().version()) + capability::render(c));
    rows.put("c" + inverted(e.position), name);
    rows.put("t" + c.fields.trigger_type + '\0' + inverted(e.position), name);
    return;
  }
  // Any later event of the stream moves the resource's ETag.
  if (auto row = rows.get("r" + name); row && row->size() >= kVersionBytes) {
    rows.put("r" + name, events::u64_be(e.event().version()) + row->substr(kVersionBytes));
  }
}

std::optional<VersionedRow> CapabilitiesQueries::get(const std::string& name) const {
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + name, &value).ok() || value.size() < kVersionBytes) {
    return std::nullopt;
  }
  return VersionedRow{events::read_u64_be(value), value.substr(kVersionBytes)};
}

std::vector<std::string> CapabilitiesQueries::list(const std::optional<std::string>& trigger_type,
                                                   std::int64_t limit, std::int64_t offset) const {
  const std::string prefix = trigger_type ? "t" + *trigger_type + '\0' : "c";
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) &&
                         static_cast<std::int64_t>(out.size()) < limit;
       it->Next()) {
    if (skipped++ < offset) continue;
    std::string value;
    if (db_->Get(ro, cf_, "r" + it->value().ToString(), &value).ok() &&
        value.size() >= kVersionBytes) {
      out.push_back(value.substr(kVersionBytes));
    }
  }
  return out;
}

}  // namespace annals::projections
