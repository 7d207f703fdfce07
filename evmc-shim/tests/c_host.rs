//! Builds `tests/c/host_test.c` with the system gcc and runs it against the freshly built
//! `libember.so`: a C host loading ember with dlopen, as an EVMC client would.
//!
//! Set `EMBER_VALGRIND=1` to run the C host under valgrind (leak and memory-error checks).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn c_host_drives_libember_through_the_evmc_abi() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ember_c_host_test");
    let compiled = Command::new("gcc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
            "-g",
            "-I",
        ])
        .arg(manifest.join("include"))
        .arg(manifest.join("tests/c/host_test.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-ldl")
        .status();
    match compiled {
        Ok(s) => assert!(s.success(), "gcc failed to build tests/c/host_test.c: {s}"),
        Err(e) => {
            eprintln!("SKIPPED: gcc not available ({e}); the C host test was not run");
            return;
        }
    }

    let lib = common::libember_path();
    let valgrind = std::env::var_os("EMBER_VALGRIND").is_some_and(|v| v == "1");
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
        ]);
        c.arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .arg(&lib)
        .arg(env!("CARGO_PKG_VERSION"))
        .output()
        .expect("run the C host test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "C host test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    if valgrind {
        assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    }
}
