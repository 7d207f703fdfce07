//! Reports: the counters of every unit and the timeline, joined into plain data, and rendered
//! as a text table, JSON, a Chrome trace-event file and an SVG picture.
//!
//! ```
//! use ember_profile::report::{Report, UnitLabel};
//! use ember_profile::{UnitCounters, UnitId};
//! use ember_evm::{Address, Revision, B256};
//!
//! let counters = UnitCounters::new();
//! let label = UnitLabel { code_hash: B256([1; 32]), address: Address([2; 20]), revision: Revision::Prague };
//! let report = Report::build([(UnitId(7), label, &counters)], None);
//! let text = report.to_text(10);
//! let json = report.to_json();
//! let trace = report.to_chrome_trace(); // {"traceEvents": [...]}
//! let svg = report.to_svg();
//! assert!(text.contains("0x01010101.."));
//! assert_eq!(json["units"][0]["id"], 7);
//! assert!(trace["traceEvents"].is_array());
//! assert!(svg.starts_with("<?xml"));
//! ```

mod chrome;
mod svg;

use crate::timeline::{CompileJob, Dropped, Event, EventKind, Span, ThreadInfo, Timeline};
use crate::{TierTotals, UnitCounters, UnitId};
use ember_evm::{to_hex, Address, Revision, B256};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

/// What a unit is: its code, the revision it runs under and the first address it ran at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitLabel {
    /// keccak256 of the code.
    pub code_hash: B256,
    /// The first address the code ran at.
    pub address: Address,
    /// The revision it runs under.
    pub revision: Revision,
}

impl UnitLabel {
    /// The label of the frames a runtime runs without a contract entry of their own (init
    /// code, frames its store had no room for): zero hash, zero address.
    pub fn no_entry(revision: Revision) -> UnitLabel {
        UnitLabel {
            code_hash: B256::ZERO,
            address: Address::ZERO,
            revision,
        }
    }

    /// `0x1234abcd.. @0x11223344..eeff`: the first 4 bytes of the code hash, and the first 4
    /// and last 2 bytes of the address; `(no entry)` for [`UnitLabel::no_entry`].
    pub fn short(&self) -> String {
        if self.code_hash == B256::ZERO && self.address == Address::ZERO {
            return "(no entry)".to_owned();
        }
        let a = &self.address.0;
        format!(
            "0x{}.. @0x{}..{}",
            to_hex(&self.code_hash.0[..4]),
            to_hex(&a[..4]),
            to_hex(&a[18..])
        )
    }
}

/// How often compiled code of a unit side-exited at one pc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitSite {
    /// Where compiled code left for the interpreter.
    pub pc: u32,
    /// How often.
    pub count: u64,
}

/// One unit's line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitReport {
    /// The runtime's number for the unit.
    pub id: UnitId,
    /// What the unit is.
    pub label: UnitLabel,
    /// Frames that started in the interpreter, and their time and gas.
    pub interp: TierTotals,
    /// Frames that started in compiled code, and their time and gas.
    pub jit: TierTotals,
    /// Side exits from compiled code to the interpreter.
    pub side_exits: u64,
    /// Side exits by site, the most frequent first. [`Report::build`] takes them from the
    /// timeline's events (so none without a timeline, and fewer if events were dropped); a
    /// runtime that counts sites itself may put its exact counts here.
    pub exit_sites: Vec<ExitSite>,
    /// Time spent compiling the unit.
    pub compile_ns: u64,
    /// Compiled versions published.
    pub versions: u64,
}

impl UnitReport {
    /// Frames in both tiers.
    pub fn calls(&self) -> u64 {
        self.interp.calls.saturating_add(self.jit.calls)
    }

    /// Time running this unit's code, both tiers, nested frames excluded.
    pub fn exclusive_ns(&self) -> u64 {
        self.interp
            .exclusive_ns
            .saturating_add(self.jit.exclusive_ns)
    }

    /// Time of this unit's frames, both tiers, nested frames included.
    pub fn inclusive_ns(&self) -> u64 {
        self.interp
            .inclusive_ns
            .saturating_add(self.jit.inclusive_ns)
    }

    /// Gas used by this unit's frames.
    pub fn gas(&self) -> u64 {
        self.interp.gas.saturating_add(self.jit.gas)
    }

    /// The share of [`Self::exclusive_ns`] spent interpreting, from 0 to 1 (`None` if no time
    /// was measured).
    pub fn interp_share(&self) -> Option<f64> {
        let total = self.exclusive_ns();
        (total > 0).then(|| self.interp.exclusive_ns as f64 / total as f64)
    }
}

/// Everything the profiler knows, as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every unit handed in, the most (exclusive) time first.
    pub units: Vec<UnitReport>,
    /// The timeline's spans, by start time (empty without a timeline).
    pub spans: Vec<Span>,
    /// The timeline's events, by time.
    pub events: Vec<Event>,
    /// The timeline's compile jobs, by start time.
    pub compile_jobs: Vec<CompileJob>,
    /// The threads the timeline saw.
    pub threads: Vec<ThreadInfo>,
    /// Timeline records lost to full rings.
    pub dropped: Dropped,
    /// Time since the timeline was created (`None` without a timeline).
    pub wall_ns: Option<u64>,
    /// The timeline's merge gap (`None` without a timeline).
    pub merge_gap_ns: Option<u64>,
}

impl Report {
    /// Joins the counters of `units` (id, label, counters) and, if given, a snapshot of
    /// `timeline`. Units are sorted by exclusive time, then calls, then code hash.
    pub fn build<'a>(
        units: impl IntoIterator<Item = (UnitId, UnitLabel, &'a UnitCounters)>,
        timeline: Option<&Timeline>,
    ) -> Report {
        let snapshot = timeline.map(Timeline::snapshot);
        let mut sites: BTreeMap<(UnitId, u32), u64> = BTreeMap::new();
        for e in snapshot.iter().flat_map(|s| &s.events) {
            if let EventKind::SideExit { pc } = e.kind {
                let n = sites.entry((e.unit, pc)).or_default();
                *n = n.saturating_add(e.count);
            }
        }
        let mut units: Vec<UnitReport> = units
            .into_iter()
            .map(|(id, label, counters)| {
                let c = counters.snapshot();
                let mut exit_sites: Vec<ExitSite> = sites
                    .range((id, 0)..=(id, u32::MAX))
                    .map(|(&(_, pc), &count)| ExitSite { pc, count })
                    .collect();
                exit_sites.sort_by(|a, b| b.count.cmp(&a.count).then(a.pc.cmp(&b.pc)));
                UnitReport {
                    id,
                    label,
                    interp: c.interp,
                    jit: c.jit,
                    side_exits: c.side_exits,
                    exit_sites,
                    compile_ns: c.compile_ns,
                    versions: c.versions,
                }
            })
            .collect();
        units.sort_by(|a, b| {
            b.exclusive_ns()
                .cmp(&a.exclusive_ns())
                .then(b.calls().cmp(&a.calls()))
                .then(a.label.code_hash.cmp(&b.label.code_hash))
                .then(a.id.cmp(&b.id))
        });
        let mut report = Report {
            units,
            ..Report::default()
        };
        if let Some(s) = snapshot {
            report.spans = s.spans;
            report.events = s.events;
            report.compile_jobs = s.compile_jobs;
            report.threads = s.threads;
            report.dropped = s.dropped;
            report.wall_ns = Some(s.elapsed_ns);
            report.merge_gap_ns = Some(s.merge_gap_ns);
        }
        report
    }

    /// The unit with this id, if it was handed in.
    pub fn unit(&self, id: UnitId) -> Option<&UnitReport> {
        self.units.iter().find(|u| u.id == id)
    }

    /// The units the timeline mentions, in report order (the units handed in, by time, then
    /// ids only the timeline knows, such as units evicted since, ascending), each with its
    /// name for pictures: its short label and revision, or `unit N`.
    fn timeline_units(&self) -> Vec<(UnitId, String)> {
        let mentioned: HashSet<UnitId> = self
            .spans
            .iter()
            .map(|s| s.unit)
            .chain(self.events.iter().map(|e| e.unit))
            .chain(self.compile_jobs.iter().map(|j| j.unit))
            .collect();
        let known: HashSet<UnitId> = self.units.iter().map(|u| u.id).collect();
        let mut out: Vec<(UnitId, String)> = self
            .units
            .iter()
            .filter(|u| mentioned.contains(&u.id))
            .map(|u| {
                let name = format!("{} {}", u.label.short(), u.label.revision.name());
                (u.id, name)
            })
            .collect();
        let mut extra: Vec<UnitId> = mentioned.difference(&known).copied().collect();
        extra.sort();
        out.extend(extra.into_iter().map(|id| (id, format!("unit {}", id.0))));
        out
    }

    /// A thread's name for pictures: `NAME (#N)`, or `thread #N` for an unnamed thread.
    fn thread_name(&self, thread: u32) -> String {
        match self
            .threads
            .iter()
            .find(|t| t.id == thread)
            .and_then(|t| t.name.as_deref())
        {
            Some(name) => format!("{name} (#{thread})"),
            None => format!("thread #{thread}"),
        }
    }

    /// A text table of the `limit` units with the most time (the rest are summed up in a
    /// line), then totals.
    pub fn to_text(&self, limit: usize) -> String {
        let total = |f: fn(&UnitReport) -> u64| {
            self.units
                .iter()
                .map(f)
                .fold(0u64, |a, b| a.saturating_add(b))
        };
        let (time, calls) = (total(UnitReport::exclusive_ns), total(UnitReport::calls));
        let interp = total(|u| u.interp.exclusive_ns);
        let mut s = String::new();
        let _ = write!(
            s,
            "profile: {} contract(s), {} call(s), {} in contracts",
            self.units.len(),
            calls,
            fmt_ns(time)
        );
        if let Some(wall) = self.wall_ns {
            let _ = write!(s, " of {} wall", fmt_ns(wall));
        }
        let _ = writeln!(
            s,
            ", {} interpreted, {} compiled",
            pct(interp, time),
            pct(time - interp.min(time), time)
        );
        let _ = writeln!(
            s,
            "{:<32} {:<9} {:>10} {:>10} {:>10} {:>7} {:>8} {:>10} {:>10} {:>8}",
            "contract",
            "rev",
            "calls",
            "time",
            "incl. time",
            "interp",
            "compiled",
            "compile ms",
            "side exits",
            "versions"
        );
        for u in self.units.iter().take(limit) {
            let share = u.interp_share();
            let _ = writeln!(
                s,
                "{:<32} {:<9} {:>10} {:>10} {:>10} {:>7} {:>8} {:>10.2} {:>10} {:>8}",
                u.label.short(),
                u.label.revision.name(),
                u.calls(),
                fmt_ns(u.exclusive_ns()),
                fmt_ns(u.inclusive_ns()),
                share.map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
                share.map_or("-".into(), |f| format!("{:.1}%", (1.0 - f) * 100.0)),
                u.compile_ns as f64 / 1e6,
                u.side_exits,
                u.versions
            );
        }
        if self.units.len() > limit {
            let rest = &self.units[limit..];
            let sum = |f: fn(&UnitReport) -> u64| {
                rest.iter().map(f).fold(0u64, |a, b| a.saturating_add(b))
            };
            let _ = writeln!(
                s,
                "({} more: {} call(s), {})",
                rest.len(),
                sum(UnitReport::calls),
                fmt_ns(sum(UnitReport::exclusive_ns))
            );
        }
        let _ = write!(
            s,
            "compile: {:.2} ms, {} version(s); side exits: {}",
            total(|u| u.compile_ns) as f64 / 1e6,
            total(|u| u.versions),
            total(|u| u.side_exits)
        );
        if self.wall_ns.is_some() {
            let _ = write!(
                s,
                "\ntimeline: {} span(s), {} event(s), {} compile job(s), {} record(s) dropped",
                self.spans.len(),
                self.events.len(),
                self.compile_jobs.len(),
                self.dropped.total()
            );
        }
        s
    }

    /// The JSON form, camelCase: `{wallNs, mergeGapNs, units: [{id, codeHash, address,
    /// revision, calls, exclusiveNs, inclusiveNs, gas, interp: {calls, exclusiveNs,
    /// inclusiveNs, gas}, jit: {…}, sideExits, exitSites: [{pc, count}], compileNs,
    /// versions}], threads: [{id, name}], spans: [{thread, unit, tier, startNs, endNs,
    /// count}], events: [{thread, unit, kind, pc?, firstNs, lastNs, count}], compileJobs:
    /// [{worker, unit, startNs, endNs, ok}], dropped: {spans, events, compileJobs}}`.
    /// `wallNs` and `mergeGapNs` are null without a timeline; `name` is null for an unnamed
    /// thread.
    pub fn to_json(&self) -> Value {
        let tier = |t: &TierTotals| {
            json!({
                "calls": t.calls,
                "exclusiveNs": t.exclusive_ns,
                "inclusiveNs": t.inclusive_ns,
                "gas": t.gas,
            })
        };
        let units: Vec<Value> = self
            .units
            .iter()
            .map(|u| {
                json!({
                    "id": u.id.0,
                    "codeHash": u.label.code_hash.to_string(),
                    "address": u.label.address.to_string(),
                    "revision": u.label.revision.name(),
                    "calls": u.calls(),
                    "exclusiveNs": u.exclusive_ns(),
                    "inclusiveNs": u.inclusive_ns(),
                    "gas": u.gas(),
                    "interp": tier(&u.interp),
                    "jit": tier(&u.jit),
                    "sideExits": u.side_exits,
                    "exitSites": u.exit_sites.iter()
                        .map(|e| json!({"pc": e.pc, "count": e.count}))
                        .collect::<Vec<_>>(),
                    "compileNs": u.compile_ns,
                    "versions": u.versions,
                })
            })
            .collect();
        let spans: Vec<Value> = self
            .spans
            .iter()
            .map(|s| {
                json!({
                    "thread": s.thread,
                    "unit": s.unit.0,
                    "tier": s.tier.name(),
                    "startNs": s.start_ns,
                    "endNs": s.end_ns,
                    "count": s.count,
                })
            })
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let mut v = json!({
                    "thread": e.thread,
                    "unit": e.unit.0,
                    "kind": e.kind.name(),
                    "firstNs": e.first_ns,
                    "lastNs": e.last_ns,
                    "count": e.count,
                });
                if let EventKind::SideExit { pc } = e.kind {
                    v["pc"] = pc.into();
                }
                v
            })
            .collect();
        let jobs: Vec<Value> = self
            .compile_jobs
            .iter()
            .map(|j| {
                json!({
                    "worker": j.worker,
                    "unit": j.unit.0,
                    "startNs": j.start_ns,
                    "endNs": j.end_ns,
                    "ok": j.ok,
                })
            })
            .collect();
        json!({
            "wallNs": self.wall_ns,
            "mergeGapNs": self.merge_gap_ns,
            "units": units,
            "threads": self.threads.iter()
                .map(|t| json!({"id": t.id, "name": t.name}))
                .collect::<Vec<_>>(),
            "spans": spans,
            "events": events,
            "compileJobs": jobs,
            "dropped": {
                "spans": self.dropped.spans,
                "events": self.dropped.events,
                "compileJobs": self.dropped.compile_jobs,
            },
        })
    }
}

/// `part` as a percentage of `whole`, or `-` when `whole` is zero.
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A duration for people: `850 ns`, `12.35 µs`, `4.20 ms`, `1.234 s` (the bounds are where
/// rounding to two decimals would show 1000.00).
pub fn fmt_ns(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..999_995 => format!("{:.2} µs", ns as f64 / 1e3),
        999_995..999_995_000 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.3} s", ns as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests;
