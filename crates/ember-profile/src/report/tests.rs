use super::*;
use crate::timeline::TimelineConfig;
use crate::timing::{frame, side_exit, ManualClock};
use crate::Tier;

fn label(byte: u8) -> UnitLabel {
    UnitLabel {
        code_hash: B256([byte; 32]),
        address: Address([byte + 1; 20]),
        revision: Revision::Cancun,
    }
}

/// Ground truth, on a manual clock: unit 1 runs interpreted and calls unit 2 (compiled) three
/// times; unit 2 side-exits at pc 0x42 on its second call and calls unit 3 (interpreted)
/// after the exit. Unit 4 never runs. Unit 2 was compiled once by worker 0 (and once more,
/// failing, by worker 1). A 1 ms merge gap merges each unit's and tier's pieces into one span.
fn scenario() -> (Report, [UnitCounters; 4]) {
    let clock = ManualClock::install(0);
    let tl = Timeline::new(TimelineConfig {
        capacity: 1024,
        merge_gap_ns: 1_000_000,
    });
    let units = [
        UnitCounters::new(),
        UnitCounters::new(),
        UnitCounters::new(),
        UnitCounters::new(),
    ];
    let [a, b, c, _] = &units;
    b.add_compile_ns(3_000_000);
    b.add_version();
    tl.event(UnitId(2), EventKind::Hot);
    tl.event(UnitId(2), EventKind::Queued);
    tl.compile_job(0, UnitId(2), 0, 3_000_000, true);
    tl.compile_job(1, UnitId(2), 1_000_000, 1_500_000, false);
    clock.advance(3_000_000);
    tl.event(UnitId(2), EventKind::Compiled);
    frame(a, UnitId(1), Tier::Interp, Some(&tl), || {
        for call in 0..3 {
            clock.advance(100_000);
            frame(b, UnitId(2), Tier::Jit, Some(&tl), || {
                clock.advance(200_000);
                if call == 1 {
                    side_exit(0x42);
                    clock.advance(50_000);
                    frame(c, UnitId(3), Tier::Interp, Some(&tl), || {
                        clock.advance(400_000);
                        ((), 700)
                    });
                    clock.advance(10_000);
                }
                ((), 1_000)
            });
        }
        clock.advance(100_000);
        ((), 50_000)
    });
    clock.advance(40_000);
    let labelled = [1u8, 2, 3, 4].map(|i| (UnitId(i.into()), label(i)));
    let report = Report::build(
        labelled
            .iter()
            .zip(&units)
            .map(|(&(id, label), counters)| (id, label, counters)),
        Some(&tl),
    );
    (report, units)
}

#[test]
fn the_ground_truth_scenario_is_attributed_correctly() {
    let (r, _) = scenario();
    // By exclusive time: A 400 µs interp, B 660 µs (600 jit + 60 interp), C 400 µs.
    let order: Vec<u64> = r.units.iter().map(|u| u.id.0).collect();
    // A and C tie on time and calls: the lower code hash first.
    assert_eq!(order, [2, 1, 3, 4]);
    let b = r.unit(UnitId(2)).unwrap();
    assert_eq!((b.jit.calls, b.interp.calls), (3, 0));
    assert_eq!(
        (b.jit.exclusive_ns, b.interp.exclusive_ns),
        (600_000, 60_000)
    );
    assert_eq!(b.jit.inclusive_ns, 1_060_000);
    assert_eq!(b.jit.gas, 3_000);
    assert_eq!(b.side_exits, 1);
    assert_eq!(b.exit_sites, [ExitSite { pc: 0x42, count: 1 }]);
    assert_eq!((b.compile_ns, b.versions), (3_000_000, 1));
    let a = r.unit(UnitId(1)).unwrap();
    assert_eq!((a.interp.calls, a.interp.exclusive_ns), (1, 400_000));
    assert_eq!(a.interp.inclusive_ns, 1_460_000);
    assert_eq!(a.interp_share(), Some(1.0));
    let c = r.unit(UnitId(3)).unwrap();
    assert_eq!(
        (c.interp.calls, c.interp.exclusive_ns, c.gas()),
        (1, 400_000, 700)
    );
    let d = r.unit(UnitId(4)).unwrap();
    assert_eq!((d.calls(), d.interp_share()), (0, None));
    // The exclusive times add up to the top frame's inclusive time.
    let total: u64 = r.units.iter().map(UnitReport::exclusive_ns).sum();
    assert_eq!(total, a.inclusive_ns());
    // Timeline: wall time, and the spans in time order.
    assert_eq!(r.wall_ns, Some(4_500_000));
    assert_eq!(r.merge_gap_ns, Some(1_000_000));
    let spans: Vec<(u64, Tier, u64, u64, u64)> = r
        .spans
        .iter()
        .map(|s| (s.unit.0, s.tier, s.start_ns, s.end_ns, s.count))
        .collect();
    assert_eq!(
        spans,
        vec![
            (1, Tier::Interp, 3_000_000, 4_460_000, 4),
            (2, Tier::Jit, 3_100_000, 4_360_000, 3),
            (2, Tier::Interp, 3_600_000, 4_060_000, 2),
            (3, Tier::Interp, 3_650_000, 4_050_000, 1),
        ]
    );
    let events: Vec<(&str, u64)> = r
        .events
        .iter()
        .map(|e| (e.kind.name(), e.first_ns))
        .collect();
    assert_eq!(
        events,
        [
            ("hot", 0),
            ("queued", 0),
            ("compiled", 3_000_000),
            ("sideExit", 3_600_000)
        ]
    );
    assert_eq!(r.compile_jobs.len(), 2);
    assert_eq!(r.dropped.total(), 0);
}

#[test]
fn without_a_timeline_only_the_counters_are_reported() {
    let (_, units) = scenario();
    let r = Report::build([(UnitId(2), label(2), &units[1])], None);
    assert_eq!(r.units.len(), 1);
    assert_eq!(r.units[0].side_exits, 1);
    assert!(r.units[0].exit_sites.is_empty());
    assert!(r.spans.is_empty() && r.events.is_empty() && r.compile_jobs.is_empty());
    assert_eq!((r.wall_ns, r.merge_gap_ns), (None, None));
    let text = r.to_text(10);
    assert!(!text.contains("timeline:"), "{text}");
    assert!(!text.contains("wall"), "{text}");
}

#[test]
fn labels_are_short() {
    let mut l = label(0xab);
    l.address.0[18] = 0x12;
    l.address.0[19] = 0x34;
    assert_eq!(l.short(), "0xabababab.. @0xacacacac..1234");
}

#[test]
fn durations_read_well() {
    assert_eq!(fmt_ns(0), "0 ns");
    assert_eq!(fmt_ns(999), "999 ns");
    assert_eq!(fmt_ns(1_000), "1.00 µs");
    assert_eq!(fmt_ns(12_345), "12.35 µs");
    assert_eq!(fmt_ns(999_994), "999.99 µs");
    assert_eq!(fmt_ns(999_995), "1.00 ms");
    assert_eq!(fmt_ns(4_200_000), "4.20 ms");
    assert_eq!(fmt_ns(999_995_000), "1.000 s");
    assert_eq!(fmt_ns(61_500_000_000), "61.500 s");
}

#[test]
fn the_text_table_is_sorted_by_time() {
    let (r, _) = scenario();
    let text = r.to_text(10);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "profile: 4 contract(s), 5 call(s), 1.46 ms in contracts of 4.50 ms wall, 58.9% interpreted, 41.1% compiled",
        "{text}"
    );
    assert!(lines[1].starts_with("contract "), "{text}");
    for h in [
        "calls",
        "time",
        "incl. time",
        "interp",
        "compiled",
        "compile ms",
        "side exits",
        "versions",
    ] {
        assert!(lines[1].contains(h), "{h}: {text}");
    }
    let rows = &lines[2..6];
    assert!(
        rows[0].starts_with("0x02020202.. @0x03030303..0303 "),
        "{text}"
    );
    assert!(rows[1].starts_with("0x01010101.."), "{text}");
    assert!(rows[2].starts_with("0x03030303.."), "{text}");
    assert!(rows[3].starts_with("0x04040404.."), "{text}");
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    // contract (2 words), rev, calls, time (2), incl. time (2), interp, compiled, compile
    // ms, side exits, versions.
    assert_eq!(
        &cols[2..],
        ["cancun", "3", "660.00", "µs", "1.06", "ms", "9.1%", "90.9%", "3.00", "1", "1"]
    );
    let idle: Vec<&str> = rows[3].split_whitespace().collect();
    assert_eq!(
        &idle[2..],
        ["cancun", "0", "0", "ns", "0", "ns", "-", "-", "0.00", "0", "0"]
    );
    assert_eq!(lines[6], "compile: 3.00 ms, 1 version(s); side exits: 1");
    assert_eq!(
        lines[7],
        "timeline: 4 span(s), 4 event(s), 2 compile job(s), 0 record(s) dropped"
    );
    let short = r.to_text(2);
    assert!(short.contains("(2 more: 1 call(s), 400.00 µs)"), "{short}");
}

#[test]
fn json_has_stable_camel_case_fields() {
    let (r, _) = scenario();
    let v: Value = serde_json::from_str(&r.to_json().to_string()).unwrap();
    assert_eq!(v["wallNs"], 4_500_000);
    assert_eq!(v["mergeGapNs"], 1_000_000);
    let u = &v["units"][0];
    assert_eq!(u["id"], 2);
    assert_eq!(u["codeHash"], format!("0x{}", "02".repeat(32)));
    assert_eq!(u["address"], format!("0x{}", "03".repeat(20)));
    assert_eq!(u["revision"], "cancun");
    assert_eq!(u["calls"], 3);
    assert_eq!(u["exclusiveNs"], 660_000);
    assert_eq!(u["inclusiveNs"], 1_060_000);
    assert_eq!(u["gas"], 3_000);
    assert_eq!(u["jit"]["calls"], 3);
    assert_eq!(u["jit"]["exclusiveNs"], 600_000);
    assert_eq!(u["interp"]["exclusiveNs"], 60_000);
    assert_eq!(u["interp"]["inclusiveNs"], 0);
    assert_eq!(u["interp"]["gas"], 0);
    assert_eq!(u["sideExits"], 1);
    assert_eq!(u["exitSites"][0]["pc"], 0x42);
    assert_eq!(u["exitSites"][0]["count"], 1);
    assert_eq!(u["compileNs"], 3_000_000);
    assert_eq!(u["versions"], 1);
    assert_eq!(v["threads"][0]["id"], 0);
    let s = &v["spans"][1];
    assert_eq!(
        (
            &s["thread"],
            &s["unit"],
            &s["tier"],
            &s["startNs"],
            &s["endNs"],
            &s["count"]
        ),
        (
            &Value::from(0),
            &Value::from(2),
            &Value::from("jit"),
            &Value::from(3_100_000),
            &Value::from(4_360_000),
            &Value::from(3)
        )
    );
    let e = &v["events"][3];
    assert_eq!(
        (&e["kind"], &e["pc"], &e["count"]),
        (&"sideExit".into(), &0x42.into(), &1.into())
    );
    assert_eq!(
        (&e["firstNs"], &e["lastNs"]),
        (&3_600_000.into(), &3_600_000.into())
    );
    assert!(v["events"][0].get("pc").is_none(), "pc only for side exits");
    let j = &v["compileJobs"][1];
    assert_eq!(
        (
            &j["worker"],
            &j["unit"],
            &j["startNs"],
            &j["endNs"],
            &j["ok"]
        ),
        (
            &1.into(),
            &2.into(),
            &1_000_000.into(),
            &1_500_000.into(),
            &false.into()
        )
    );
    assert_eq!(v["dropped"]["spans"], 0);
    assert_eq!(v["dropped"]["events"], 0);
    assert_eq!(v["dropped"]["compileJobs"], 0);
}

#[test]
fn the_chrome_trace_parses_and_every_event_has_its_fields() {
    let (r, _) = scenario();
    let text = r.to_chrome_trace().to_string();
    let v: Value = serde_json::from_str(&text).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let mut named_processes = std::collections::BTreeSet::new();
    let mut named_threads = std::collections::BTreeSet::new();
    let mut used_threads = std::collections::BTreeSet::new();
    let (mut complete, mut instant) = (0, 0);
    for e in events {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("no ph: {e}"));
        assert!(e["name"].is_string(), "{e}");
        let pid = e["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {e}"));
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("no tid: {e}"));
        match ph {
            "X" => {
                complete += 1;
                assert!(e["ts"].as_f64().unwrap() >= 0.0, "{e}");
                assert!(e["dur"].as_f64().unwrap() >= 0.0, "{e}");
                assert!(e["cat"].is_string(), "{e}");
                used_threads.insert((pid, tid));
            }
            "i" => {
                instant += 1;
                assert!(e["ts"].as_f64().unwrap() >= 0.0, "{e}");
                let scope = e["s"].as_str().unwrap();
                assert!(scope == "t" || scope == "p", "{e}");
                if scope == "t" {
                    used_threads.insert((pid, tid));
                }
            }
            "M" => match e["name"].as_str().unwrap() {
                "process_name" => {
                    assert!(e["args"]["name"].is_string(), "{e}");
                    named_processes.insert(pid);
                }
                "thread_name" => {
                    assert!(e["args"]["name"].is_string(), "{e}");
                    named_threads.insert((pid, tid));
                }
                "process_sort_index" => assert!(e["args"]["sort_index"].is_u64(), "{e}"),
                other => panic!("unexpected metadata {other}"),
            },
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    assert_eq!(complete, 4 + 2, "four spans and two compile jobs");
    assert_eq!(instant, 4);
    for (pid, tid) in &used_threads {
        assert!(named_processes.contains(pid), "process {pid} unnamed");
        assert!(
            named_threads.contains(&(*pid, *tid)),
            "track {pid}/{tid} unnamed"
        );
    }
    // Unit 2 (the first in the report) is process 1: its compiled track holds 3 merged calls
    // and the side exit.
    let jit: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["pid"] == 1 && e["name"] == "compiled")
        .collect();
    assert_eq!(jit.len(), 1);
    assert_eq!(jit[0]["ts"], 3_100.0);
    assert_eq!(jit[0]["dur"], 1_260.0);
    assert_eq!(jit[0]["args"]["count"], 3);
    let exit = events
        .iter()
        .find(|e| e["ph"] == "i" && e["s"] == "t")
        .unwrap();
    assert_eq!(
        (&exit["pid"], &exit["tid"]),
        (&jit[0]["pid"], &jit[0]["tid"])
    );
    assert_eq!(exit["args"]["pc"], 0x42);
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "0x02020202.. @0x03030303..0303 cancun");
    assert_eq!(names.last(), Some(&"compile workers"));
}

#[test]
fn units_only_the_timeline_knows_get_a_track() {
    let _clock = ManualClock::install(0);
    let tl = Timeline::new(TimelineConfig::default());
    frame(
        &UnitCounters::new(),
        UnitId(77),
        Tier::Jit,
        Some(&tl),
        || ((), 0),
    );
    let r = Report::build([], Some(&tl));
    let v = r.to_chrome_trace();
    let names: Vec<&str> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["unit 77"]);
    assert!(r.to_svg().contains(">unit 77</text>"));
}

/// Checks that `xml` is one well-formed element tree: tags balance, attributes are quoted,
/// and `&` only starts an entity.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml;
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') {
            assert!(tag.ends_with('?'), "{tag}");
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().expect("empty tag");
        let attrs = body[name.len()..].trim();
        // name="value" pairs, values without '<' or a raw '"'.
        let mut a = attrs;
        while !a.is_empty() {
            let eq = a
                .find("=\"")
                .unwrap_or_else(|| panic!("bad attribute in <{tag}>"));
            assert!(!a[..eq].trim().contains(char::is_whitespace), "<{tag}>");
            let end = a[eq + 2..].find('"').expect("unterminated value") + eq + 2;
            check_text(&a[eq + 2..end]);
            a = a[end + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(roots, 1);
}

fn check_text(t: &str) {
    assert!(!t.contains('<') && !t.contains('>'), "{t}");
    for (i, _) in t.match_indices('&') {
        let entity = &t[i..t[i..].find(';').map_or(t.len(), |e| i + e + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
            "bad entity {entity:?}"
        );
    }
}

#[test]
fn the_well_formedness_check_catches_mistakes() {
    for bad in [
        "<a><b></a></b>",
        "<a>",
        "<a x=1/>",
        "<a>&</a>",
        "<a/><b/>",
        "<a>x > y</a>",
    ] {
        assert!(
            std::panic::catch_unwind(|| assert_well_formed(bad)).is_err(),
            "{bad}"
        );
    }
    assert_well_formed(r#"<?xml version="1.0"?><a x="1"><b/>t &amp; u</a>"#);
}

#[test]
fn the_svg_is_well_formed_and_draws_every_row() {
    let (r, _) = scenario();
    let svg = r.to_svg();
    assert!(svg.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
    ));
    assert_well_formed(&svg);
    for label in [
        "0x02020202.. @0x03030303..0303 cancun",
        "0x01010101.. @0x02020202..0202 cancun",
        "0x03030303.. @0x04040404..0404 cancun",
        "compile workers",
        "worker 0",
        "worker 1",
    ] {
        assert!(svg.contains(&format!(">{label}</text>")), "{label}");
    }
    assert!(
        !svg.contains("0x04040404.. @"),
        "a unit that never ran has no row"
    );
    for legend in ["interpreted", "compiled", "side exit", "compile failed"] {
        assert!(svg.contains(&format!(">{legend}</text>")), "{legend}");
    }
    // Four spans in two colours, two jobs, the side exit and three tier events.
    assert_eq!(
        svg.matches(&format!("fill=\"{}\"><title>interpreted", svg::INTERP))
            .count(),
        3
    );
    assert_eq!(
        svg.matches(&format!("fill=\"{}\"><title>compiled", svg::JIT))
            .count(),
        1
    );
    assert_eq!(svg.matches("<title>compile 0x02020202").count(), 2);
    assert_eq!(
        svg.matches("<title>1 side exit(s), 3.60 ms to 3.60 ms</title>")
            .count(),
        1
    );
    assert_eq!(
        svg.matches("<title>compiled x1 at 3.00 ms</title>").count(),
        1
    );
    // A time axis.
    assert!(
        svg.contains(">0 ns</text>") && svg.contains(">4.00 ms</text>"),
        "{svg}"
    );
}

#[test]
fn thread_names_reach_the_chrome_trace() {
    let _clock = ManualClock::install(0);
    let tl = Timeline::new(TimelineConfig::default());
    let c = UnitCounters::new();
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("<&\">".into())
            .spawn_scoped(s, || {
                let _clock = ManualClock::install(0);
                frame(&c, UnitId(1), Tier::Interp, Some(&tl), || ((), 0));
            })
            .unwrap();
    });
    let r = Report::build([(UnitId(1), label(1), &c)], Some(&tl));
    assert_eq!(r.threads[0].name.as_deref(), Some("<&\">"));
    let trace: Value = serde_json::from_str(&r.to_chrome_trace().to_string()).unwrap();
    let track = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "thread_name")
        .unwrap();
    assert_eq!(track["args"]["name"], "interpreted · <&\"> (#0)");
}

#[test]
fn an_empty_report_still_renders() {
    let r = Report::build([], None);
    assert_well_formed(&r.to_svg());
    assert_eq!(r.to_chrome_trace()["traceEvents"], serde_json::json!([]));
    assert!(r.to_text(5).starts_with(
        "profile: 0 contract(s), 0 call(s), 0 ns in contracts, - interpreted, - compiled\n"
    ));
}

#[test]
fn the_svg_draws_at_most_a_hundred_rows() {
    let _clock = ManualClock::install(0);
    let tl = Timeline::new(TimelineConfig::default());
    for i in 0..150 {
        tl.event(UnitId(i), EventKind::Evicted);
    }
    let svg = Report::build([], Some(&tl)).to_svg();
    assert_well_formed(&svg);
    assert!(svg.contains(">unit 98</text>"));
    assert!(!svg.contains(">unit 99</text>"));
    assert!(svg.contains(">(51 more contracts)</text>"));
    assert_eq!(
        svg.matches("<title>evicted x1 at 0 ns</title>").count(),
        150
    );
}

#[test]
fn frames_without_an_entry_have_a_readable_label() {
    use ember_evm::Revision;
    assert_eq!(UnitLabel::no_entry(Revision::Cancun).short(), "(no entry)");
}
