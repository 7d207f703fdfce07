//! Shared test fixtures: the path of the freshly built `libember.so`, and test programs run
//! in ember-testkit's recording host (`programs.rs`).
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod programs;

use ember_evm::{Address, B256, U256};
use std::path::PathBuf;

/// The `libember.so` built with this test: cargo compiles the library's cdylib next to the
/// test executable (`target/<profile>/deps/`). The copy in `target/<profile>/` is only
/// refreshed by `cargo build`, so it may be stale and is not used.
pub fn libember_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let lib = exe.with_file_name("libember.so");
    assert!(
        lib.is_file(),
        "{} was not built (cargo builds the cdylib for tests)",
        lib.display()
    );
    lib
}

pub fn addr(n: u8) -> Address {
    Address([n; 20])
}

pub fn word(n: u64) -> B256 {
    B256::from_word(U256::from(n))
}
