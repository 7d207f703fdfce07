//! The timeline in the Chrome trace-event format (JSON object form), which Perfetto and
//! chrome://tracing open.
//!
//! Each unit is a process (`ph: "M"` `process_name` = its label), with one track per thread
//! and tier that ran it (`thread_name` = `interpreted · main (#0)`): a merged span of
//! overlapping pieces of two tiers could not share a track, since complete events on one
//! track must nest. Spans are complete events (`ph: "X"`, `args.count` = pieces merged), side
//! exits thread-scoped instant events on the compiled track, other tier events process-scoped
//! instant events (`ph: "i"`), compile jobs complete events on one track per worker of a
//! `compile workers` process. Times are microseconds (`ts`, `dur`), fractional.

use super::Report;
use crate::timeline::EventKind;
use crate::{Tier, UnitId};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// Microseconds, as trace events count.
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// The track of a (thread, tier) in its unit's process.
fn tid(thread: u32, tier: Tier) -> u64 {
    u64::from(thread) * 2
        + match tier {
            Tier::Interp => 1,
            Tier::Jit => 2,
        }
}

fn tier_title(tier: Tier) -> &'static str {
    match tier {
        Tier::Interp => "interpreted",
        Tier::Jit => "compiled",
    }
}

impl Report {
    /// The timeline as a trace-event document: `{"traceEvents": [...], "displayTimeUnit":
    /// "ns"}`, with a process for every unit the timeline mentions (none without a
    /// timeline).
    pub fn to_chrome_trace(&self) -> Value {
        let units = self.timeline_units();
        // Process i + 1 for the i-th unit (every unit the records name is in `units`).
        let index: HashMap<UnitId, (u64, &str)> = units
            .iter()
            .enumerate()
            .map(|(i, (id, name))| (*id, (i as u64 + 1, name.as_str())))
            .collect();
        let pid = |id: UnitId| index.get(&id).map_or(0, |u| u.0);
        let name = |id: UnitId| index.get(&id).map_or("", |u| u.1);
        let workers_pid = units.len() as u64 + 1;
        let mut events = Vec::new();
        let mut tracks: BTreeSet<(u64, u32, Tier)> = BTreeSet::new();

        for (i, (id, title)) in units.iter().enumerate() {
            let p = pid(*id);
            events.push(meta("process_name", p, 0, json!({"name": title})));
            events.push(meta("process_sort_index", p, 0, json!({"sort_index": i})));
        }
        for s in &self.spans {
            let p = pid(s.unit);
            tracks.insert((p, s.thread, s.tier));
            events.push(json!({
                "name": tier_title(s.tier),
                "cat": "tier",
                "ph": "X",
                "ts": us(s.start_ns),
                "dur": us(s.end_ns.saturating_sub(s.start_ns)),
                "pid": p,
                "tid": tid(s.thread, s.tier),
                "args": {"count": s.count},
            }));
        }
        for e in &self.events {
            let p = pid(e.unit);
            let mut ev = json!({
                "name": e.kind.name(),
                "cat": "event",
                "ph": "i",
                "ts": us(e.first_ns),
                "pid": p,
                "args": {"count": e.count, "lastTs": us(e.last_ns)},
            });
            if let EventKind::SideExit { pc } = e.kind {
                tracks.insert((p, e.thread, Tier::Jit));
                ev["name"] = format!("side exit at pc {pc}").into();
                ev["tid"] = tid(e.thread, Tier::Jit).into();
                ev["s"] = "t".into();
                ev["args"]["pc"] = pc.into();
            } else {
                ev["tid"] = 0.into();
                ev["s"] = "p".into();
            }
            events.push(ev);
        }
        for (p, thread, tier) in tracks {
            events.push(meta(
                "thread_name",
                p,
                tid(thread, tier),
                json!({"name": format!("{} · {}", tier_title(tier), self.thread_name(thread))}),
            ));
        }
        if !self.compile_jobs.is_empty() {
            events.push(meta(
                "process_name",
                workers_pid,
                0,
                json!({"name": "compile workers"}),
            ));
            events.push(meta(
                "process_sort_index",
                workers_pid,
                0,
                json!({"sort_index": units.len()}),
            ));
            let workers: BTreeSet<u32> = self.compile_jobs.iter().map(|j| j.worker).collect();
            for w in workers {
                events.push(meta(
                    "thread_name",
                    workers_pid,
                    u64::from(w),
                    json!({"name": format!("worker {w}")}),
                ));
            }
        }
        for j in &self.compile_jobs {
            events.push(json!({
                "name": format!("compile {}", name(j.unit)),
                "cat": "compile",
                "ph": "X",
                "ts": us(j.start_ns),
                "dur": us(j.end_ns.saturating_sub(j.start_ns)),
                "pid": workers_pid,
                "tid": j.worker,
                "args": {"unit": j.unit.0, "ok": j.ok},
            }));
        }
        json!({"traceEvents": events, "displayTimeUnit": "ns"})
    }
}

/// A metadata event.
fn meta(name: &str, pid: u64, tid: u64, args: Value) -> Value {
    json!({"name": name, "ph": "M", "pid": pid, "tid": tid, "args": args})
}
