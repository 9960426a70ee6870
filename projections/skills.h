// The skill read models (SPEC §7, API §3-5).
//
// `skills`:
//   r <id>                               → `S+`
//   e <id>                               → the skill stream's version (the ETag; runs move it)
//   u <~updated_at> <id>                 → state 0 capability (list order, filters, drafts)
//   t <skill_id> 0 <~position>           → `T` (transitions, newest first)
//   v <skill_id> 0 <~version_number>     → `V` (versions, newest first)
//   x <skill_id> 0 <version_id>          → `V`
//   w <position> <skill_id>              → `W` pending evolution work (oldest first); q <id> → its
//   key
// `skill_runs` (a run never changes once recorded, so its rows point into the log and `R+` is
// rendered from the event when read; the rows stay small however large the run):
//   r <run_id>                           → position
//   a <~started_at> <~position>          → position status 0 skill_id 0 run_id (all runs)
//   s <skill_id> 0 <~started_at> <~pos>  → position status 0 version_id 0 run_id
//   f <skill_id>                         → the count of runs that did not succeed
// `divergences` (immutable too; `D` is rendered from the event):
//   r <divergence_id> → position;  l <run_id> → the run's latest divergence's position;
//   s <skill_id> 0 <~position> → position
//   m <skill_id> → count and Σ agreement (host order; the evolution input's stats)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace annals::projections {

class SkillsProjection final : public Projection {
 public:
  explicit SkillsProjection(double trusted_rate = 0.05) : trusted_rate_(trusted_rate) {}
  std::string_view name() const override { return "skills"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;

 private:
  double trusted_rate_;
};

class SkillRunsProjection final : public Projection {
 public:
  std::string_view name() const override { return "skill_runs"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

class DivergencesProjection final : public Projection {
 public:
  std::string_view name() const override { return "divergences"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

// `corrections`: r <id> → `K`; a <~timestamp> <id> → ""; t <task_type> 0 <~timestamp> <id> → "".
class CorrectionsProjection final : public Projection {
 public:
  std::string_view name() const override { return "corrections"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

// `fixtures`: r <id> → `F`; s <skill_id> 0 <~position> → `F` (newest first).
class FixturesProjection final : public Projection {
 public:
  std::string_view name() const override { return "fixtures"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

// `skill_evolution_log`: r <attempt_id> → `A`; s <skill_id> 0 <~position> → `A` (newest first).
class EvolutionLogProjection final : public Projection {
 public:
  std::string_view name() const override { return "skill_evolution_log"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

// `nightly_runs`: r <run_id> → `NR`; s <~position> → `NR` (newest first).
class NightlyRunsProjection final : public Projection {
 public:
  std::string_view name() const override { return "nightly_runs"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

// `candidates`: r <id> → `N`; o <~savings> <~reported_at> <id> → status 0 capability (the order).
class CandidatesProjection final : public Projection {
 public:
  std::string_view name() const override { return "candidates"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

struct Page {
  std::int64_t limit = 100, offset = 0;
};

struct CorrectionFilter {
  std::optional<std::string> task_type;
  std::optional<Micros> since, until;  // since inclusive, until exclusive, on `timestamp`
};

class CorrectionsQueries {
 public:
  CorrectionsQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }
  std::vector<std::string> list(const CorrectionFilter& f, Page p) const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

// Rows "s <skill_id> 0 <~position>" → JSON of a per-skill read model (fixtures, evolution log),
// newest first.
class PerSkillQueries {
 public:
  PerSkillQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }
  std::vector<std::string> list(const std::string& skill_id, Page p) const;
  // Rows "s <~position>" of read models that are not per skill (nightly runs), and "r <id>".
  std::vector<std::string> all(Page p) const;
  std::optional<std::string> get(const std::string& id) const;

 private:
  std::vector<std::string> scan(const std::string& prefix, Page p) const;

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

class CandidatesQueries {
 public:
  CandidatesQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }
  std::optional<std::string> get(const std::string& id) const;
  // status nullopt = all.
  std::vector<std::string> list(const std::optional<std::string>& status,
                                const std::optional<std::string>& capability, Page p) const;
  // Pending draft work `DW` in drafting order (expected savings, then reported_at, descending).
  std::vector<std::string> draft_work(Page p) const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

class SkillsQueries {
 public:
  // Reads the skills, skill_runs and divergences read models of `view` (and the events their
  // rows point to).
  SkillsQueries(const events::EventStore& store, events::ReadView view)
      : store_(store),
        db_(store.db()),
        skills_(view.family("skills")),
        runs_(view.family("skill_runs")),
        divergences_(view.family("divergences")),
        view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::optional<VersionedRow> get(const std::string& id) const;
  std::vector<std::string> list(const std::optional<std::string>& state,
                                const std::optional<std::string>& capability, Page p) const;
  std::vector<std::string> transitions(const std::string& skill_id, Page p) const;
  std::vector<std::string> versions(const std::string& skill_id, Page p) const;
  std::optional<std::string> version(const std::string& skill_id,
                                     const std::string& version_id) const;

  std::optional<std::string> run(const std::string& run_id) const;
  // Runs newest first: of one skill (optionally one version) or all.
  std::vector<std::string> runs(const std::optional<std::string>& skill_id,
                                const std::optional<std::string>& status,
                                const std::optional<std::string>& version_id, Page p) const;

  std::optional<std::string> latest_divergence(const std::string& run_id) const;
  // (count, Σ overall_agreement) of the skill's divergences; runs with status ≠ succeeded.
  std::pair<std::int64_t, double> divergence_totals(const std::string& skill_id) const;
  std::int64_t failed_runs(const std::string& skill_id) const;
  // Pending evolution work `W`, oldest first.
  std::vector<std::string> evolution_work(Page p) const;
  std::vector<std::string> divergences(const std::string& skill_id, Page p) const;

 private:
  std::vector<std::string> scan(
      rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, Page p,
      const std::function<std::optional<std::string>(std::string_view key, std::string_view value)>&
          take) const;
  // `R`/`R+` or `D` rendered from the event at the position a row holds.
  std::optional<std::string> run_at(std::string_view position, bool detail) const;
  std::optional<std::string> divergence_at(std::string_view position) const;

  const events::EventStore& store_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle *skills_, *runs_, *divergences_;
  events::ReadView view_;
};

}  // namespace annals::projections
