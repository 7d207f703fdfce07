//! Runs the built `evm-statetest` binary: exit codes, the last line, `--json`, filters,
//! broken fixtures, and a few real fixture files from `../shared` when present.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

/// The state root of an empty state: the root of the empty trie, keccak256(rlp("")).
const EMPTY_TRIE_ROOT: &str = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
/// The logs hash of no logs: keccak256(rlp([])).
const EMPTY_LOGS_HASH: &str = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "evm-statetest-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, contents).expect("write fixture");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A case whose outcome needs no EVM to predict: the sender does not exist, so the
/// transaction cannot pay for gas and is rejected, leaving the state empty and no logs.
fn unfunded_case(hash: &str) -> Value {
    json!({
        "expectException": "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS",
        "hash": hash,
        "logs": EMPTY_LOGS_HASH,
        "indexes": { "data": 0, "gas": 0, "value": 0 },
        "txbytes": "0x"
    })
}

/// A test with an empty pre-state whose `post` is `post`.
fn unfunded_test(post: Value) -> Value {
    json!({
        "env": {
            "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
            "currentDifficulty": "0x020000",
            "currentGasLimit": "0x05f5e100",
            "currentNumber": "0x01",
            "currentTimestamp": "0x03e8",
            "currentBaseFee": "0x0a",
            "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000020000",
            "currentExcessBlobGas": "0x00"
        },
        "pre": {},
        "transaction": {
            "data": ["0x"],
            "gasLimit": ["0x5208"],
            "gasPrice": "0x0a",
            "nonce": "0x00",
            "sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b",
            "to": "0x00000000000000000000000000000000000000cc",
            "value": ["0x00"]
        },
        "post": post
    })
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evm-statetest"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("run evm-statetest")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn last_line(bytes: &[u8]) -> String {
    text(bytes).lines().last().unwrap_or_default().to_owned()
}

#[test]
fn passing_fixture_exits_zero() {
    let dir = TempDir::new();
    let fixture = json!({
        "unfunded": unfunded_test(json!({
            "Cancun": [unfunded_case(EMPTY_TRIE_ROOT)],
            "Berlin": [unfunded_case(EMPTY_TRIE_ROOT)]
        }))
    });
    let path = dir.write("pass.json", &fixture.to_string());
    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(last_line(&out.stdout), "2 passed, 0 failed");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Berlin") && stdout.contains("Cancun"),
        "per-fork table: {stdout}"
    );
}

#[test]
fn wrong_expected_hash_exits_one_and_explains() {
    let dir = TempDir::new();
    let wrong = format!("0x{}01", "00".repeat(31));
    let fixture = json!({
        "wrong_root": unfunded_test(json!({ "Cancun": [unfunded_case(&wrong)] })),
        "right_root": unfunded_test(json!({ "Cancun": [unfunded_case(EMPTY_TRIE_ROOT)] }))
    });
    let path = dir.write("fail.json", &fixture.to_string());
    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL wrong_root [Cancun data=0 gas=0 value=0]")
            && stdout.contains("fail.json"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "state root: expected {wrong}, got {EMPTY_TRIE_ROOT}"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL right_root"), "{stdout}");
    assert_eq!(last_line(&out.stdout), "1 passed, 1 failed");
}

#[test]
fn rejection_that_was_not_expected_fails() {
    let dir = TempDir::new();
    let mut case = unfunded_case(EMPTY_TRIE_ROOT);
    case.as_object_mut().unwrap().remove("expectException");
    let fixture = json!({ "t": unfunded_test(json!({ "Cancun": [case] })) });
    let path = dir.write("t.json", &fixture.to_string());
    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("exception: none expected"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn json_output_is_one_array_with_actual_results() {
    let dir = TempDir::new();
    let wrong = format!("0x{}02", "00".repeat(31));
    let fixture = json!({
        "t": unfunded_test(json!({ "Cancun": [unfunded_case(EMPTY_TRIE_ROOT), unfunded_case(&wrong)] }))
    });
    let path = dir.write("j.json", &fixture.to_string());
    let out = run(&[&"--json", &path]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let cases = v.as_array().expect("an array");
    assert_eq!(cases.len(), 2);
    for (c, pass) in cases.iter().zip([true, false]) {
        assert_eq!(c["name"], "t");
        assert_eq!(c["fork"], "Cancun");
        assert_eq!(c["index"], json!({ "data": 0, "gas": 0, "value": 0 }));
        assert_eq!(c["pass"], pass);
        assert_eq!(
            c["stateRoot"], EMPTY_TRIE_ROOT,
            "the actual root, even on failure"
        );
        assert_eq!(c["logsHash"], EMPTY_LOGS_HASH);
        assert_eq!(c["gasUsed"], "0x0");
    }
    assert!(cases[0]["error"].is_null());
    assert!(cases[1]["error"].as_str().unwrap().contains("state root"));
    // The human report goes to stderr.
    assert_eq!(last_line(&out.stderr), "1 passed, 1 failed");
}

#[test]
fn broken_fixture_exits_three_and_names_the_file() {
    let dir = TempDir::new();
    dir.write(
        "a/good.json",
        &json!({ "t": unfunded_test(json!({ "Cancun": [unfunded_case(EMPTY_TRIE_ROOT)] })) })
            .to_string(),
    );
    dir.write("b/broken.json", "{ \"t\": { \"env\": ");
    dir.write("b/ignored.txt", "not a fixture");
    let out = run(&[&dir.0]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("broken.json") && stdout.contains("invalid JSON"),
        "{stdout}"
    );
    assert!(!stdout.contains("ignored.txt"), "{stdout}");
    // The good file still ran; the broken one counts as a failure.
    assert_eq!(last_line(&out.stdout), "1 passed, 1 failed");

    let out = run(&[&dir.0.join("missing.json")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("missing.json"));
}

#[test]
fn filters_and_skips() {
    let dir = TempDir::new();
    let fixture = json!({
        "alpha": unfunded_test(json!({
            "Cancun": [unfunded_case(EMPTY_TRIE_ROOT)],
            "Berlin": [unfunded_case(EMPTY_TRIE_ROOT)],
            "CancunToPragueAtTime15k": [unfunded_case(EMPTY_TRIE_ROOT), unfunded_case(EMPTY_TRIE_ROOT)]
        })),
        "beta": unfunded_test(json!({ "Cancun": [unfunded_case(EMPTY_TRIE_ROOT)] }))
    });
    let path = dir.write("f.json", &fixture.to_string());

    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("SKIP alpha [CancunToPragueAtTime15k]") && stdout.contains("transition"),
        "{stdout}"
    );
    assert_eq!(last_line(&out.stdout), "3 passed, 0 failed, 2 skipped");

    let out = run(&[&"--filter", &"beta", &path]);
    assert_eq!(last_line(&out.stdout), "1 passed, 0 failed");
    let out = run(&[&"--filter", &"gamma", &path]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("warning: no test case matched"));
    assert_eq!(last_line(&out.stdout), "0 passed, 0 failed");
    let out = run(&[&"--fork", &"Berlin", &path]);
    assert_eq!(last_line(&out.stdout), "1 passed, 0 failed");
    let out = run(&[&"--fork=cancun", &"-j", &"1", &path]);
    assert_eq!(last_line(&out.stdout), "2 passed, 0 failed");
    let out = run(&[&"--stats", &path]);
    assert!(text(&out.stdout).contains("runtime: tier interp, 0 contract(s)"));
}

#[test]
fn bad_arguments_exit_two_with_one_line_naming_the_option() {
    for (args, option) in [
        (&[][..], "PATH"),
        (&["--bogus", "x.json"], "--bogus"),
        (&["--fork", "Amsterdam", "x.json"], "--fork"),
        (&["-j", "0", "x.json"], "--jobs"),
        (&["--jobs", "lots", "x.json"], "--jobs"),
        (&["--tier", "fast", "x.json"], "--tier"),
        (
            &["--tier", "auto", "--jit-workers", "0", "x.json"],
            "--jit-workers",
        ),
        (&["--jit-window-ms", "soon", "x.json"], "--jit-window-ms"),
        (&["--jit-queue", "0", "x.json"], "--jit-queue"),
        (&["--vm", "x.so", "--profile", "x.json"], "--profile"),
    ] {
        let argv: Vec<&dyn AsRef<std::ffi::OsStr>> = args
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        let out = run(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("evm-statetest: ") && err.contains(option),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_and_version_exit_zero() {
    let out = run(&[&"--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for heading in [
        "Input:",
        "Execution:",
        "Runtime tuning:",
        "Output:",
        "Profiling:",
    ] {
        assert!(help.contains(heading), "{heading} in {help}");
    }
    assert!(help.contains("Exit status: 0 all passed, 1 a case failed"));
    let out = run(&[&"--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("evm-statetest {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn every_option_is_accepted() {
    let dir = TempDir::new();
    let path = dir.write(
        "t.json",
        &json!({"t": unfunded_test(json!({"Cancun": [unfunded_case(EMPTY_TRIE_ROOT)]}))})
            .to_string(),
    );
    let svg = dir.0.join("t.svg");
    let pjson = dir.0.join("p.json");
    let trace = dir.0.join("t.trace.json");
    let (svg, pjson, trace) = (
        svg.to_str().unwrap(),
        pjson.to_str().unwrap(),
        trace.to_str().unwrap(),
    );
    let path = path.to_str().unwrap();
    let out = run(&[
        &"--fork",
        &"Cancun",
        &"--filter",
        &"",
        &"-j",
        &"1",
        &"--json",
        &"--stats",
        &"--tier",
        &"auto",
        &"--jit-hot-calls",
        &"1",
        &"--jit-hot-gas",
        &"0",
        &"--jit-window-ms",
        &"100",
        &"--jit-buckets",
        &"4",
        &"--jit-workers",
        &"1",
        &"--jit-queue",
        &"8",
        &"--jit-max-profiles",
        &"10",
        &"--jit-opt-level",
        &"0",
        &"--jit-shutdown-ms",
        &"100",
        &"--jit-max-versions",
        &"2",
        &"--jit-perf-map",
        &"0",
        &"--code-cache-bytes",
        &"4194304",
        &"--idle-evict-ms",
        &"0",
        &"--profile",
        &"--profile-json",
        &pjson,
        &"--profile-trace",
        &trace,
        &"--profile-svg",
        &svg,
        &path,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for file in [svg, pjson, trace] {
        assert!(Path::new(file).is_file(), "{file} written");
    }
    let out = run(&[&"--trace", &"--jobs=1", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `../shared` relative to the workspace root, or `None` (with a message) when absent.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

#[test]
fn real_fixtures_pass() {
    let Some(shared) = shared() else { return };
    let files = [
        "ethereum-tests/GeneralStateTests/stExample/add11.json",
        "ethereum-tests/GeneralStateTests/stExample/mergeTest.json",
        "ethereum-tests/GeneralStateTests/stEIP1559/lowGasPriceOldTypes.json",
        "ethereum-tests/GeneralStateTests/stTransactionTest/ValueOverflowParis.json",
        "eest-fixtures/state_tests/osaka/eip7939_count_leading_zeros/count_leading_zeros/clz_gas_cost.json",
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| shared.join(f)).collect();
    let args: Vec<&dyn AsRef<std::ffi::OsStr>> = paths
        .iter()
        .map(|p| p as &dyn AsRef<std::ffi::OsStr>)
        .collect();
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let last = last_line(&out.stdout);
    assert!(last.ends_with(" passed, 0 failed"), "{last}");

    // The compiling tiers pass the same cases: `jit` compiles every contract before its
    // first run; `auto` is told to compile after one call.
    for tier in [
        &["--tier", "jit"][..],
        &[
            "--tier",
            "auto",
            "--jit-hot-calls",
            "1",
            "--jit-hot-gas",
            "0",
        ],
    ] {
        let mut argv: Vec<&dyn AsRef<std::ffi::OsStr>> = tier
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        argv.push(&"--stats");
        argv.extend(args.iter().copied());
        let out = run(&argv);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{tier:?}: {}",
            text(&out.stdout)
        );
        assert_eq!(last_line(&out.stdout), last, "{tier:?}");
        let report = text(&out.stdout);
        assert!(
            report.contains(&format!("runtime: tier {}", tier[1])),
            "{report}"
        );
    }
    let out = run(&[&"--tier", &"jit", &"--stats", &paths[0]]);
    assert!(
        text(&out.stdout).contains("  compiled"),
        "{}",
        text(&out.stdout)
    );
    // The profiler's table, and its timeline as a Chrome trace.
    let dir = TempDir::new();
    let trace = dir.0.join("trace.json");
    let out = run(&[
        &"--tier",
        &"jit",
        &"--profile",
        &"--profile-trace",
        &trace,
        &paths[0],
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report = text(&out.stdout);
    assert!(report.contains("profile: "), "{report}");
    assert!(
        report.contains("% compiled") || report.contains("compiled"),
        "{report}"
    );
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(
        t["traceEvents"].as_array().is_some_and(|e| !e.is_empty()),
        "{t}"
    );
}

#[test]
fn trace_writes_eip3155_lines_to_stderr() {
    let dir = TempDir::new();
    // A funded sender calls code that computes 1 + 1 and stores it; the expected root is
    // deliberately wrong (it is not needed to check the trace).
    let mut test = unfunded_test(json!({ "Cancun": [{
        "hash": format!("0x{}", "00".repeat(32)),
        "logs": EMPTY_LOGS_HASH,
        "indexes": { "data": 0, "gas": 0, "value": 0 },
        "txbytes": "0x"
    }] }));
    test["transaction"]["gasLimit"] = json!(["0x0186a0"]);
    test["pre"] = json!({
        "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b": {
            "balance": "0x0de0b6b3a7640000", "code": "0x", "nonce": "0x00", "storage": {}
        },
        "0x00000000000000000000000000000000000000cc": {
            "balance": "0x00", "code": "0x600160010160005500", "nonce": "0x01", "storage": {}
        }
    });
    let path = dir.write("trace.json", &json!({ "traced": test }).to_string());
    let out = run(&[&"--trace", &"--filter", &"traced", &path]);
    assert_eq!(out.status.code(), Some(1), "the root is wrong on purpose");
    let lines: Vec<Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let ops: Vec<&str> = lines.iter().filter_map(|l| l["opName"].as_str()).collect();
    assert_eq!(ops, ["PUSH1", "PUSH1", "ADD", "PUSH1", "SSTORE", "STOP"]);
    assert!(lines[..6].iter().all(|l| l["depth"] == 1));
    assert_eq!(lines[2]["stack"], json!(["0x1", "0x1"]));
    let summary = &lines[lines.len() - 2];
    assert!(
        summary.get("gasUsed").is_some() && summary.get("output").is_some(),
        "{summary}"
    );
    // The last line is the state root after the case, as geth and evmone print it, and the
    // same root the JSON report gives.
    let last = text(&out.stderr).lines().last().unwrap().to_owned();
    assert!(last.starts_with("{\"stateRoot\": \"0x"), "{last}");
    let json_run = run(&[&"--json", &"--filter", &"traced", &path]);
    let report: Value = serde_json::from_str(text(&json_run.stdout).trim()).unwrap();
    assert_eq!(
        lines.last().unwrap()["stateRoot"],
        report[0]["stateRoot"],
        "{report}"
    );
    assert!(
        text(&out.stdout).contains("FAIL traced"),
        "the report stays on stdout"
    );
}
