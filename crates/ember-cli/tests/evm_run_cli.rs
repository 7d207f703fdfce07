//! `evm-run` as a user sees it: JSON fields, exit codes, traces, prestate loading.

use serde_json::Value;
use std::process::{Command, Output};

fn evm_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evm-run"))
        .args(args)
        .output()
        .expect("evm-run starts")
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = evm_run(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    serde_json::from_str(&text).expect("valid JSON")
}

/// PUSH1 1 PUSH1 2 ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN:
/// 3 + 3 + 3 + 3 + (3 + 3 memory) + 3 + 3 + 0 = 24 gas.
const ADD_AND_RETURN: &str = "600160020160005260206000f3";

#[test]
fn json_reports_status_output_and_execution_gas() {
    let v = json(&["--code", ADD_AND_RETURN, "--gas", "1000"]);
    assert_eq!(v["status"], "success");
    assert_eq!(v["output"], format!("0x{}03", "00".repeat(31)));
    assert_eq!(v["gasUsed"], 24);
    assert_eq!(v["gasLeft"], 1000 - 24);
    assert_eq!(v["refund"], 0);
    assert!(v.get("runs").is_none(), "runs only with --repeat");
}

#[test]
fn the_last_line_says_what_happened() {
    let sentence = "evm-run: the call ended in success after 24 gas with 32 byte(s) of output \
                    in tier interp.";
    // Text: the last line of stdout, after the stats.
    let out = evm_run(&["--code", ADD_AND_RETURN, "--stats"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().last(), Some(sentence), "{text}");
    assert!(out.stderr.is_empty());
    // JSON: stdout is the object alone, the sentence is on stderr.
    let out = evm_run(&["--code", ADD_AND_RETURN, "--json", "--repeat", "2"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&sentence.replace('.', ", the last of 2 runs (median ")),
        "{err}"
    );
    // A trace keeps stderr to itself: its summary line stays the last.
    let out = evm_run(&["--code", ADD_AND_RETURN, "--json", "--trace"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("evm-run:"), "{err}");
}

#[test]
fn evm_failures_are_results_with_exit_status_0() {
    let v = json(&["--code", ADD_AND_RETURN, "--gas", "5"]);
    assert_eq!(v["status"], "out of gas");
    assert_eq!(v["gasUsed"], 5);
    assert_eq!(v["gasLeft"], 0);
    // PUSH1 0 PUSH1 0 REVERT: 6 gas, gas left kept.
    let v = json(&["--code", "60006000fd", "--gas", "100"]);
    assert_eq!(v["status"], "revert");
    assert_eq!(v["gasUsed"], 6);
    assert_eq!(json(&["--code", "fe"])["status"], "invalid instruction");
    assert_eq!(
        json(&["--code", "5f", "--rev", "paris"])["status"],
        "undefined instruction"
    );
}

#[test]
fn repeat_adds_runs_and_median() {
    let v = json(&["--code", ADD_AND_RETURN, "--repeat", "3"]);
    assert_eq!(v["runs"], 3);
    assert!(v["medianNs"].as_u64().is_some());
}

#[test]
fn compiling_tiers_give_the_interpreters_result_and_report_stats() {
    let want = json(&["--code", ADD_AND_RETURN, "--gas", "1000"]);
    let v = json(&[
        "--code",
        ADD_AND_RETURN,
        "--gas",
        "1000",
        "--tier",
        "jit",
        "--repeat",
        "3",
        "--stats",
    ]);
    for k in ["status", "output", "gasUsed", "gasLeft", "refund"] {
        assert_eq!(v[k], want[k], "{k}");
    }
    // Compiled ahead: the three timed runs ran compiled code, and the compile time is
    // reported apart from the median.
    assert!(v["compileNs"].as_u64().unwrap() > 0);
    assert!(v["medianNs"].as_u64().is_some());
    let c = &v["stats"]["contracts"][0];
    assert_eq!(c["state"], "compiled");
    assert_eq!(
        (c["calls"].as_u64(), c["callsJit"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(c["gasJit"], 3 * 24);
    assert_eq!(c["codeHash"].as_str().unwrap().len(), 66);
    for k in ["queued", "dropped", "completed", "failed"] {
        assert!(v["stats"]["pool"][k].is_u64(), "{k}");
    }

    let v = json(&["--code", ADD_AND_RETURN, "--gas", "1000", "--tier", "auto"]);
    assert_eq!(v["output"], want["output"]);
    assert!(v.get("stats").is_none(), "stats only with --stats");
    let out = evm_run(&["--code", ADD_AND_RETURN, "--tier", "auto", "--stats"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("runtime: tier auto, 1 contract(s)"), "{text}");
    assert!(text.contains(" cold"), "one call is not hot: {text}");
}

#[test]
fn bad_input_is_a_one_line_error_with_status_2() {
    let dir = std::env::temp_dir().join(format!("evm-run-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_json = dir.join("bad.json");
    std::fs::write(&bad_json, "{ not json").unwrap();
    let bad_json = bad_json.to_str().unwrap();
    for args in [
        vec!["--code", "123"],
        vec!["--code", "60zz"],
        vec!["--code", "00", "--rev", "amsterdam"],
        vec!["--codefile", "/nonexistent/code.hex"],
        vec!["--code", "00", "--prestate", bad_json],
        vec!["--code", "00", "--gas", "lots"],
        vec!["--code", "00", "--codefile", "x"],
        vec!["--code", "00", "--frobnicate"],
        vec!["--code", "00", "--tier", "turbo"],
        vec!["--code", "00", "--tier", "auto", "--jit-hot-calls", "0"],
        vec!["--code", "00", "--jit-opt-level", "9"],
        vec!["--code", "00", "--vm", "x.so", "--jit-workers", "1"],
        vec!["--code", "00", "--vm", "x.so", "--stats"],
        vec!["--code", "00", "--repeat", "0"],
        vec![],
    ] {
        let out = evm_run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("evm-run: "), "{err}");
        let named = args.iter().any(|a| a.starts_with("--") && err.contains(a));
        assert!(
            named || args.is_empty() && err.contains("--code"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trace_writes_one_eip3155_line_per_instruction_and_a_summary() {
    let out = evm_run(&["--code", ADD_AND_RETURN, "--trace", "--gas", "1000"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8 + 1, "8 instructions and the summary");
    for (l, (pc, name)) in lines.iter().zip([
        (0, "PUSH1"),
        (2, "PUSH1"),
        (4, "ADD"),
        (5, "PUSH1"),
        (7, "MSTORE"),
        (8, "PUSH1"),
        (10, "PUSH1"),
        (12, "RETURN"),
    ]) {
        assert_eq!(l["pc"], pc);
        assert_eq!(l["opName"], name);
        for field in [
            "op", "gas", "gasCost", "memSize", "stack", "depth", "refund",
        ] {
            assert!(l.get(field).is_some(), "{field} in {l}");
        }
    }
    assert_eq!(lines[0]["gas"], "0x3e8");
    assert_eq!(lines[2]["stack"], serde_json::json!(["0x1", "0x2"]));
    assert_eq!(lines[5]["memSize"], 32);
    assert_eq!(lines[8]["gasUsed"], "0x18");
    assert!(lines[8].get("error").is_none());

    // A failing instruction carries the error, and so does the summary.
    let out = evm_run(&["--code", "6001fe", "--trace"]);
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["opName"], "INVALID");
    assert_eq!(lines[1]["error"], "invalid instruction");
    assert_eq!(lines[2]["error"], "invalid instruction");
}

#[test]
fn prestate_accounts_are_visible_to_the_code() {
    let dir = std::env::temp_dir().join(format!("evm-run-pre-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pre = dir.join("pre.json");
    // The receiver ("receiver" in ASCII) has slot 1 = 0x2a; account 0x…bb has balance 7.
    std::fs::write(
        &pre,
        r#"{
          "0x0000000000000000000000007265636569766572": {
            "balance": "0x00", "nonce": "0x01", "code": "0x", "storage": {"0x01": "0x2a"}
          },
          "0x00000000000000000000000000000000000000bb": {
            "balance": "0x07", "nonce": "0x00", "code": "0x", "storage": {}
          }
        }"#,
    )
    .unwrap();
    let pre = pre.to_str().unwrap();
    // PUSH1 1 SLOAD PUSH1 0xbb BALANCE ADD, return it: 0x2a + 7.
    let v = json(&[
        "--code",
        "600154 60bb31 01 60005260206000f3"
            .replace(' ', "")
            .as_str(),
        "--prestate",
        pre,
    ]);
    assert_eq!(v["output"], format!("0x{}31", "00".repeat(31)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn codefile_may_hold_whitespace_and_a_prefix() {
    let dir = std::env::temp_dir().join(format!("evm-run-code-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("code.hex");
    std::fs::write(&f, format!("0x{ADD_AND_RETURN}\n")).unwrap();
    let v = json(&["--codefile", f.to_str().unwrap()]);
    assert_eq!(v["gasUsed"], 24);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `libember.so` cargo built for this test run (ember-cli depends on ember-evmc, whose
/// cdylib lands in `deps/` next to the binaries).
fn libember() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_evm-run"));
    bin.parent().unwrap().join("deps").join("libember.so")
}

#[test]
fn vm_flag_runs_the_same_code_through_an_evmc_library() {
    let lib = libember();
    assert!(lib.exists(), "{} was not built", lib.display());
    let lib = lib.to_str().unwrap();
    // Arithmetic, a storage write and read, a log, a revert.
    for code in [
        ADD_AND_RETURN,
        "602a60015560015460005260206000a0 60206000f3",
        "6001600255 600160005260206000fd",
    ] {
        let code = code.replace(' ', "");
        let builtin = json(&["--code", &code, "--rev", "cancun"]);
        let through_evmc = json(&["--code", &code, "--rev", "cancun", "--vm", lib]);
        assert_eq!(builtin, through_evmc, "{code}");
    }
    let out = evm_run(&["--code", "00", "--vm", "/nonexistent/libvm.so"]);
    assert_eq!(out.status.code(), Some(2));
    let out = evm_run(&["--code", "00", "--vm", lib, "--trace"]);
    assert_eq!(out.status.code(), Some(2));
}

/// PUSH1 0 CALLDATALOAD PUSH1 248 SHR JUMP, then three blocks at pcs 7, 15 and 23 that each
/// return a different byte (JUMPDEST PUSH1 v PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN): the
/// first calldata byte picks the block.
const JUMP_BY_INPUT: &str = "60003560f81c56\
5b60aa60005360016000f3\
5b60bb60005360016000f3\
5b60cc60005360016000f3";

#[test]
fn inputs_from_a_file_are_cycled_through_and_stats_show_versions_and_exits() {
    let dir = std::env::temp_dir().join(format!("evm-run-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("inputs.txt");
    // Targets 7, 18 and 29; a comment and a blank line are skipped.
    std::fs::write(&file, "# one per line\n07\n\n12\n1d\n").unwrap();
    let file = file.to_str().unwrap();
    for (repeat, want) in [("1", "0xaa"), ("2", "0xbb"), ("3", "0xcc"), ("4", "0xaa")] {
        let v = json(&[
            "--code",
            JUMP_BY_INPUT,
            "--inputs",
            file,
            "--repeat",
            repeat,
        ]);
        assert_eq!(
            (v["status"].as_str(), v["output"].as_str()),
            (Some("success"), Some(want))
        );
    }
    let v = json(&[
        "--code",
        JUMP_BY_INPUT,
        "--inputs",
        file,
        "--repeat",
        "30",
        "--tier",
        "jit",
        "--stats",
    ]);
    let c = &v["stats"]["contracts"][0];
    assert_eq!(c["versions"], 1, "{c}");
    assert!(c["sideExits"].is_array(), "{c}");
    assert_eq!(c["callsJit"], 30);
    // Bad files are usage errors.
    let out = evm_run(&["--code", "00", "--inputs", "/nonexistent/inputs"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.join("bad.txt"), "0x12\nzz\n").unwrap();
    let out = evm_run(&[
        "--code",
        "00",
        "--inputs",
        dir.join("bad.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt:2"));
    let out = evm_run(&["--code", "00", "--input", "00", "--inputs", file]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn discard_every_throws_compiled_code_away_between_runs() {
    let v = json(&[
        "--code",
        JUMP_BY_INPUT,
        "--input",
        "07",
        "--repeat",
        "7",
        "--tier",
        "jit",
        "--discard-every",
        "3",
        "--stats",
    ]);
    assert_eq!(v["output"], "0xaa");
    let s = &v["stats"];
    // Before runs 3 and 6; each time the one version goes and is compiled again.
    assert_eq!(s["codeCache"]["discards"], 2);
    assert_eq!(s["codeCache"]["discarded"], 2);
    assert_eq!(s["contracts"][0]["versions"], 3);
    assert_eq!(s["contracts"][0]["callsJit"], 7);
    let out = evm_run(&["--code", "00", "--discard-every", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn profile_table_json_trace_and_svg() {
    let dir = std::env::temp_dir().join(format!("evm-run-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (trace, svg, js) = (dir.join("t.json"), dir.join("t.svg"), dir.join("p.json"));
    let v = json(&[
        "--code",
        JUMP_BY_INPUT,
        "--input",
        "07",
        "--repeat",
        "5",
        "--tier",
        "jit",
        "--profile",
        "--profile-trace",
        trace.to_str().unwrap(),
        "--profile-svg",
        svg.to_str().unwrap(),
        "--profile-json",
        js.to_str().unwrap(),
    ]);
    let units = v["profile"]["units"].as_array().expect("profile units");
    assert_eq!(units.len(), 1);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(written["units"].as_array().map(Vec::len), Some(1));
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = t["traceEvents"].as_array().expect("trace events");
    assert!(events.iter().any(|e| e["ph"] == "X"), "spans: {t}");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("<svg") && picture.trim_end().ends_with("</svg>"));
    // The text table, and the profiler is refused for other VMs.
    let out = evm_run(&["--code", JUMP_BY_INPUT, "--input", "07", "--profile"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("interp") && text.contains("compiled"),
        "{text}"
    );
    let out = evm_run(&["--code", "00", "--vm", "x.so", "--profile"]);
    assert_eq!(out.status.code(), Some(2));
    let out = evm_run(&["--code", "00", "--profile-svg", "/nonexistent-dir/x.svg"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_and_version_exit_zero() {
    let out = evm_run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for heading in [
        "Input:",
        "Execution:",
        "Runtime tuning:",
        "Output:",
        "Profiling:",
    ] {
        assert!(help.contains(heading), "{heading} in {help}");
    }
    assert!(help.contains("--jit-hot-calls <N>") && help.contains("setting jit.hot-calls"));
    let out = evm_run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("evm-run {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn every_option_is_accepted() {
    let dir = std::env::temp_dir().join(format!("evm-run-options-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let code = file("code.hex", ADD_AND_RETURN);
    let inputs = file("inputs.txt", "# two inputs\n00\n\n0102\n");
    let prestate = file("pre.json", "{}");
    let (pjson, trace, svg) = (file("p.json", ""), file("t.json", ""), file("t.svg", ""));
    let v = json(&[
        "--codefile",
        &code,
        "--inputs",
        &inputs,
        "--prestate",
        &prestate,
        "--gas",
        "1000",
        "--rev",
        "cancun",
        "--repeat",
        "4",
        "--discard-every",
        "2",
        "--tier",
        "auto",
        "--jit-hot-calls",
        "1",
        "--jit-hot-gas",
        "0",
        "--jit-window-ms",
        "100",
        "--jit-buckets",
        "4",
        "--jit-workers",
        "1",
        "--jit-queue",
        "8",
        "--jit-max-profiles",
        "10",
        "--jit-opt-level",
        "0",
        "--jit-shutdown-ms",
        "1000",
        "--jit-max-versions",
        "2",
        "--jit-perf-map",
        "0",
        "--code-cache-bytes",
        "4194304",
        "--idle-evict-ms",
        "0",
        "--stats",
        "--profile",
        "--profile-json",
        &pjson,
        "--profile-trace",
        &trace,
        "--profile-svg",
        &svg,
    ]);
    assert_eq!(
        (v["gasUsed"].as_u64(), v["runs"].as_u64()),
        (Some(24), Some(4))
    );
    assert!(
        v.get("stats").is_some() && v.get("profile").is_some(),
        "{v}"
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("<svg"));
    // --input, --code and --trace, and --vm in a separate run (it excludes the runtime's
    // options); a missing library is a one-line error naming --vm.
    let out = evm_run(&["--code", ADD_AND_RETURN, "--input", "00", "--trace"]);
    assert_eq!(out.status.code(), Some(0));
    let out = evm_run(&["--code", "00", "--vm", "/nonexistent/libvm.so"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("evm-run: --vm") && err.lines().count() == 1,
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
