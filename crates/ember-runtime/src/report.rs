//! What the runtime tells about itself: the profiler's report of the contracts in the store,
//! and the statistics that add what only the runtime knows (states, the compile pool, the
//! code cache, the store).

use crate::backend::Backend;
use crate::state::ContractState;
use crate::stats::{CacheStats, ContractStats, PoolStats, Stats};
use crate::store::Entry;
use crate::{Runtime, OTHER_UNIT};
use ember_evm::{Address, Revision};
use ember_profile::report::{ExitSite, Report, UnitLabel};
use ember_profile::timeline::Timeline;
use ember_profile::UnitId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

impl<B: Backend> Runtime<B> {
    /// The profiler's report: every contract in the store with its calls, gas and time per
    /// tier, side exits by site, compile time and versions, plus one unit for the frames run
    /// without an entry ([`OTHER_UNIT`]: init code in `auto`, frames the store had no room
    /// for) when there were any, and the timeline when `profile.timeline` is on. Contracts
    /// evicted from the store (beyond `jit.max-profiles`) are not in it.
    pub fn profile_report(&self) -> Report {
        let entries = self.core.store.entries();
        let other_ran = self.other.snapshot().interp.calls > 0;
        let other = other_ran.then(|| {
            let label = UnitLabel::no_entry(Revision::LATEST);
            (OTHER_UNIT, label, &*self.other)
        });
        entries_report(&entries, other, self.core.timeline.as_ref())
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> Stats {
        let core = &*self.core;
        let entries = core.store.entries();
        let by_id: HashMap<UnitId, &Arc<Entry<B::Code>>> =
            entries.iter().map(|e| (e.id, e)).collect();
        let mut contracts: Vec<ContractStats> = entries_report(&entries, None, None)
            .units
            .into_iter()
            .filter_map(|profile| {
                let entry = by_id.get(&profile.id)?;
                contract_stats(entry, profile)
            })
            .collect();
        contracts.sort_by(|a, b| {
            (b.profile.gas().cmp(&a.profile.gas()))
                .then(b.calls().cmp(&a.calls()))
                .then(a.code_hash().cmp(&b.code_hash()))
        });
        let p = self.pool.counters();
        let c = &core.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            tier: core.config.tier(),
            contracts,
            pool: PoolStats {
                workers: self.pool.workers(),
                queued: n(&p.queued),
                pending: self.pool.pending() as u64,
                dropped: n(&p.dropped),
                completed: n(&c.compiled),
                failed: n(&c.rejected) + n(&c.transient),
                cancelled: n(&p.cancelled),
            },
            cache: CacheStats {
                budget_bytes: core.config.code_cache_bytes() as u64,
                published_bytes: core.store.published_bytes.load(Ordering::SeqCst) as u64,
                resident_bytes: core.store.resident_bytes.load(Ordering::SeqCst) as u64,
                evicted: n(&c.evicted),
                idle_evicted: n(&c.idle_evicted),
                invalidated: n(&c.invalidated),
                discarded: n(&c.discarded),
                discards: n(&c.discards),
                too_large: n(&c.too_large),
                heap_full: n(&c.transient),
                tiered_up: n(&c.tiered_up),
                tier_ups_lost: n(&c.tier_ups_lost),
            },
            evicted: core.store.evicted(),
            unprofiled: self.unprofiled.load(Ordering::Relaxed),
            collisions: self.collisions.load(Ordering::Relaxed),
        }
    }
}

/// The profiler's report of `entries` (and of `other`, if given) with `timeline`, each
/// entry's exit sites being the ones it counted itself: the timeline, when on, counts them
/// too, but only while it has room.
fn entries_report<'a, C>(
    entries: &'a [Arc<Entry<C>>],
    other: Option<(UnitId, UnitLabel, &'a ember_profile::UnitCounters)>,
    timeline: Option<&Timeline>,
) -> Report {
    let units = entries
        .iter()
        .map(|e| {
            let label = UnitLabel {
                code_hash: e.code_hash(),
                address: e.address.get().copied().unwrap_or(Address::ZERO),
                revision: e.key.rev,
            };
            (e.id, label, &e.unit)
        })
        .chain(other);
    let mut report = Report::build(units, timeline);
    let by_id: HashMap<UnitId, &Arc<Entry<C>>> = entries.iter().map(|e| (e.id, e)).collect();
    for u in &mut report.units {
        if let Some(e) = by_id.get(&u.id) {
            let (sites, _) = e.exits.snapshot();
            let mut sites: Vec<ExitSite> = sites
                .into_iter()
                .map(|(pc, count)| ExitSite { pc, count })
                .collect();
            sites.sort_by(|a, b| b.count.cmp(&a.count).then(a.pc.cmp(&b.pc)));
            u.exit_sites = sites;
        }
    }
    report
}

/// The statistics of the contract in `e`, whose profiler report is `profile`; `None` once it
/// left the store.
fn contract_stats<C>(
    e: &Entry<C>,
    profile: ember_profile::report::UnitReport,
) -> Option<ContractStats> {
    let state = e.state();
    if state == ContractState::Evicted {
        return None;
    }
    let rejection = match state {
        ContractState::Rejected => Some(e.rejection.get().cloned().unwrap_or_default()),
        _ => None,
    };
    let published = e.code.load();
    let (_, side_exits_elsewhere) = e.exits.snapshot();
    Some(ContractStats {
        profile,
        code_size: e.analysis.code().len(),
        state,
        rejection,
        invalidations: e.invalidations.load(Ordering::Relaxed),
        speculative: published.as_ref().map(|v| v.speculative),
        level: published.as_ref().map(|v| v.origin.level),
        code_bytes: published.as_ref().map(|v| v.bytes as u64),
        side_exits_elsewhere,
    })
}
