//! The timeline as a standalone SVG picture: a time axis, one row per unit the timeline
//! mentions (in report order, at most 100: the last row then gathers the rest) with its
//! interpreted spans above its compiled spans in two colours, its side exits in a strip below
//! them and its other events as lines across the row; one row per compile worker with its
//! jobs; a legend. Spans closer than half a pixel are drawn as one rectangle (its tooltip says
//! how many pieces it stands for), so the file stays small however long the run.

use super::{fmt_ns, Report};
use crate::timeline::EventKind;
use crate::{Tier, UnitId};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

const WIDTH: f64 = 1200.0;
/// Where the plot starts (row labels to the left).
const PLOT_X: f64 = 330.0;
const PLOT_W: f64 = WIDTH - PLOT_X - 20.0;
/// Where the first row starts (title and axis above).
const ROWS_Y: f64 = 64.0;
const ROW_H: f64 = 24.0;
/// The most unit rows drawn.
const MAX_ROWS: usize = 100;

pub(super) const INTERP: &str = "#4e79a7";
pub(super) const JIT: &str = "#f28e2b";
const SIDE_EXIT: &str = "#b40426";
const EVENT: &str = "#333333";
const JOB_OK: &str = "#59a14f";
const JOB_FAILED: &str = "#9c755f";

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A step of 1, 2 or 5 times a power of ten giving at most about eight ticks over `span`.
fn tick_step(span: u64) -> u64 {
    let raw = (span / 8).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10 * magnitude)
}

/// Rectangles of one row and colour being collected, merged when they touch.
struct Bars {
    /// (x0, x1, pieces, first ns, last ns), sorted by x0 when drawn.
    items: Vec<(f64, f64, u64, u64, u64)>,
}

impl Bars {
    /// Merges bars that overlap or are less than half a pixel apart.
    fn merged(mut self) -> Vec<(f64, f64, u64, u64, u64)> {
        self.items.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, f64, u64, u64, u64)> = Vec::new();
        for b in self.items {
            match out.last_mut() {
                Some(last) if b.0 <= last.1 + 0.5 => {
                    last.1 = last.1.max(b.1);
                    last.2 = last.2.saturating_add(b.2);
                    last.3 = last.3.min(b.3);
                    last.4 = last.4.max(b.4);
                }
                _ => out.push(b),
            }
        }
        out
    }
}

impl Report {
    /// The picture, as an SVG document.
    pub fn to_svg(&self) -> String {
        let units = self.timeline_units();
        // One row per unit, at most MAX_ROWS: past that, the last row gathers the rest.
        let named_rows = if units.len() > MAX_ROWS {
            MAX_ROWS - 1
        } else {
            units.len()
        };
        let mut row_names: Vec<String> = units[..named_rows]
            .iter()
            .map(|(_, name)| esc(name))
            .collect();
        if units.len() > named_rows {
            row_names.push(format!("({} more contracts)", units.len() - named_rows));
        }
        let row_of: HashMap<UnitId, usize> = units
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i.min(named_rows)))
            .collect();
        let names: HashMap<UnitId, &str> = units
            .iter()
            .map(|(id, name)| (*id, name.as_str()))
            .collect();
        let mut workers: Vec<u32> = self.compile_jobs.iter().map(|j| j.worker).collect();
        workers.sort();
        workers.dedup();

        let end = [
            self.wall_ns.unwrap_or(0),
            self.spans.iter().map(|s| s.end_ns).max().unwrap_or(0),
            self.events.iter().map(|e| e.last_ns).max().unwrap_or(0),
            self.compile_jobs
                .iter()
                .map(|j| j.end_ns)
                .max()
                .unwrap_or(0),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
        .max(1);
        let x = |ns: u64| PLOT_X + ns as f64 / end as f64 * PLOT_W;

        let workers_y =
            ROWS_Y + row_names.len() as f64 * ROW_H + if workers.is_empty() { 0.0 } else { 24.0 };
        let legend_y = workers_y + workers.len() as f64 * ROW_H + 24.0;
        let height = legend_y + 30.0;

        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
        );
        let title = match self.wall_ns {
            Some(wall) => format!(
                "ember profile: {} contract(s), {} wall, {} span(s), {} dropped",
                units.len(),
                fmt_ns(wall),
                self.spans.len(),
                self.dropped.total()
            ),
            None => "ember profile: no timeline recorded".to_string(),
        };
        let _ = writeln!(
            s,
            r#"<text x="8" y="20" font-size="14">{}</text>"#,
            esc(&title)
        );

        // The time axis, with grid lines through the rows.
        let axis_y = ROWS_Y - 8.0;
        let grid_bottom = legend_y - 16.0;
        let _ = writeln!(
            s,
            r##"<line x1="{PLOT_X}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#000"/>"##,
            PLOT_X + PLOT_W
        );
        let step = tick_step(end);
        let mut t = 0;
        while t <= end {
            let tx = x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{grid_bottom}" stroke="#ddd"/>"##,
                axis_y
            );
            let _ = writeln!(
                s,
                r#"<text x="{tx:.1}" y="{}" text-anchor="middle" font-size="10">{}</text>"#,
                axis_y - 4.0,
                esc(&fmt_ns(t))
            );
            t = t.saturating_add(step);
            if t == u64::MAX {
                break;
            }
        }

        // Unit rows.
        let mut bars: BTreeMap<(usize, Tier), Bars> = BTreeMap::new();
        for sp in &self.spans {
            let Some(&row) = row_of.get(&sp.unit) else {
                continue;
            };
            bars.entry((row, sp.tier))
                .or_insert_with(|| Bars { items: Vec::new() })
                .items
                .push((
                    x(sp.start_ns),
                    x(sp.end_ns),
                    sp.count,
                    sp.start_ns,
                    sp.end_ns,
                ));
        }
        for (i, name) in row_names.iter().enumerate() {
            let y = ROWS_Y + i as f64 * ROW_H;
            if i % 2 == 1 {
                let _ = writeln!(
                    s,
                    r##"<rect x="0" y="{y:.1}" width="{WIDTH}" height="{ROW_H}" fill="#f4f4f4"/>"##
                );
            }
            let _ = writeln!(s, r#"<text x="8" y="{:.1}">{name}</text>"#, y + 16.0);
        }
        for ((row, tier), b) in bars {
            let (dy, colour, what) = match tier {
                Tier::Interp => (2.0, INTERP, "interpreted"),
                Tier::Jit => (10.0, JIT, "compiled"),
            };
            let y = ROWS_Y + row as f64 * ROW_H + dy;
            for (x0, x1, pieces, from, to) in b.merged() {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="7" fill="{colour}"><title>{what}: {} to {}, {pieces} piece(s)</title></rect>"#,
                    (x1 - x0).max(1.0),
                    esc(&fmt_ns(from)),
                    esc(&fmt_ns(to))
                );
            }
        }
        // Side exits, merged like spans, in a strip under the row's bars; the few other
        // events as lines across the row.
        let mut exits: BTreeMap<usize, Bars> = BTreeMap::new();
        for e in &self.events {
            let Some(&row) = row_of.get(&e.unit) else {
                continue;
            };
            let y = ROWS_Y + row as f64 * ROW_H;
            if let EventKind::SideExit { .. } = e.kind {
                exits
                    .entry(row)
                    .or_insert_with(|| Bars { items: Vec::new() })
                    .items
                    .push((x(e.first_ns), x(e.last_ns), e.count, e.first_ns, e.last_ns));
                continue;
            }
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="2" height="{}" fill="{EVENT}"><title>{} x{} at {}</title></rect>"#,
                x(e.first_ns) - 1.0,
                y + 1.0,
                ROW_H - 2.0,
                e.kind.name(),
                e.count,
                esc(&fmt_ns(e.first_ns))
            );
        }
        for (row, b) in exits {
            let y = ROWS_Y + row as f64 * ROW_H + 18.0;
            for (x0, x1, count, from, to) in b.merged() {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="5" fill="{SIDE_EXIT}"><title>{count} side exit(s), {} to {}</title></rect>"#,
                    (x1 - x0).max(1.0),
                    esc(&fmt_ns(from)),
                    esc(&fmt_ns(to))
                );
            }
        }

        // Compile workers.
        if !workers.is_empty() {
            let _ = writeln!(
                s,
                r#"<text x="8" y="{:.1}" font-weight="bold">compile workers</text>"#,
                workers_y - 6.0
            );
        }
        let worker_row: BTreeMap<u32, usize> =
            workers.iter().enumerate().map(|(i, w)| (*w, i)).collect();
        for (w, i) in &worker_row {
            let _ = writeln!(
                s,
                r#"<text x="8" y="{:.1}">worker {w}</text>"#,
                workers_y + *i as f64 * ROW_H + 16.0
            );
        }
        for j in &self.compile_jobs {
            let Some(&i) = worker_row.get(&j.worker) else {
                continue;
            };
            let y = workers_y + i as f64 * ROW_H + 4.0;
            let (x0, x1) = (x(j.start_ns), x(j.end_ns));
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="16" fill="{}"><title>compile {}: {} ({})</title></rect>"#,
                (x1 - x0).max(1.0),
                if j.ok { JOB_OK } else { JOB_FAILED },
                esc(names.get(&j.unit).copied().unwrap_or_default()),
                esc(&fmt_ns(j.end_ns.saturating_sub(j.start_ns))),
                if j.ok { "ok" } else { "failed" }
            );
        }

        // Legend.
        let mut lx = 8.0;
        for (colour, label) in [
            (INTERP, "interpreted"),
            (JIT, "compiled"),
            (SIDE_EXIT, "side exit"),
            (EVENT, "tier event"),
            (JOB_OK, "compile"),
            (JOB_FAILED, "compile failed"),
        ] {
            let _ = writeln!(
                s,
                r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
                legend_y,
                lx + 16.0,
                legend_y + 10.0
            );
            lx += 16.0 + label.len() as f64 * 7.5 + 20.0;
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(80), 10);
        assert_eq!(tick_step(88), 20);
        assert_eq!(tick_step(1_000_000), 200_000);
        assert_eq!(tick_step(3_000_000_000), 500_000_000);
        assert_eq!(tick_step(u64::MAX), 5_000_000_000_000_000_000);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn touching_bars_merge() {
        let bars = Bars {
            items: vec![
                (10.0, 11.0, 1, 5, 6),
                (0.0, 2.0, 2, 0, 1),
                (2.4, 3.0, 3, 1, 2),
                (3.6, 4.0, 1, 2, 3),
            ],
        };
        assert_eq!(
            bars.merged(),
            vec![
                (0.0, 3.0, 5, 0, 2),
                (3.6, 4.0, 1, 2, 3),
                (10.0, 11.0, 1, 5, 6)
            ]
        );
    }
}
