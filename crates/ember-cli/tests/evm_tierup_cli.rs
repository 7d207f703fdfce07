//! `evm-tierup` on a benchmark of the shared suite (skipped when `../shared` is absent): the
//! table row, the summary line, the timeline picture and the usage errors.

use std::path::Path;
use std::process::Command;

#[test]
fn a_benchmark_gets_compiled_and_the_timeline_is_written() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/evm-benchmarks/benchmarks/main");
    if !suite.is_dir() {
        eprintln!("skipping: {} is absent", suite.display());
        return;
    }
    let svg = std::env::temp_dir().join(format!("evm-tierup-{}.svg", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_evm-tierup"))
        .arg(&suite)
        .args([
            "--filter",
            "sha1_shifts",
            "--interp-calls",
            "2",
            "--hot-calls",
            "2",
        ])
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "header, one row, summary: {stdout}");
    assert!(lines[0].starts_with("benchmark") && lines[0].contains("compiled at"));
    // The suite's own gas figure for the 5311-byte input.
    assert!(
        lines[1].starts_with("sha1_shifts") && lines[1].contains("2898473"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("call ") && lines[1].ends_with("compiled"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("evm-tierup: 1 benchmarks, 1 ran compiled code")
            && lines[2].contains(svg.to_str().unwrap()),
        "{stdout}"
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("<svg") && picture.trim_end().ends_with("</svg>"));
    std::fs::remove_file(&svg).unwrap();

    let suite = suite.to_str().unwrap();
    for args in [
        &["--hot-calls", "0", suite][..],
        &["--filter", "no-such-benchmark", suite],
        &[],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_evm-tierup"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
