//! Measures compile time against code size, for setting the analyzer's gates.
//!
//! ```text
//! cargo run --release -p ember-jit --example compile_scaling -- [--opt 0|1|2|3]
//! ```
//!
//! Three shapes of generated contracts from 1 to 24 KiB: `mixed` (the differential tests'
//! random programs: arithmetic, stack shuffles, memory, storage, calls, many jumps),
//! `straight` (long blocks of arithmetic and shifts, few jumps) and `jumpdests` (a JUMPDEST
//! every few bytes, each a basic block).

use ember_evm::Revision;
use ember_jit::{analyzer, compile_analyzed, JitConfig, OptLevel};
use ember_testkit::{random_program, XorShift};
use std::sync::Arc;

fn mixed(rng: &mut XorShift, size: usize) -> Vec<u8> {
    let mut code = Vec::new();
    while code.len() < size {
        code.extend(random_program(rng, 200));
    }
    code.truncate(size);
    code
}

fn straight(rng: &mut XorShift, size: usize) -> Vec<u8> {
    let ops = [
        0x01u8, 0x02, 0x03, 0x16, 0x17, 0x18, 0x1b, 0x1c, 0x1d, 0x10, 0x14,
    ];
    let mut code = vec![0x60, 1, 0x60, 2, 0x60, 3, 0x60, 4];
    while code.len() < size {
        match rng.below(4) {
            0 => code.extend([0x60, rng.below(256) as u8]),
            1 => code.push(0x80 + rng.below(3) as u8),
            _ => code.extend([ops[rng.below(ops.len() as u64) as usize], 0x80]),
        }
        if rng.below(200) == 0 {
            code.extend([0x60, 0, 0x52, 0x5b]);
        }
    }
    code.truncate(size);
    code
}

fn jumpdests(size: usize) -> Vec<u8> {
    // JUMPDEST PUSH1 1 POP, repeated.
    [0x5b, 0x60, 0x01, 0x50].repeat(size / 4)
}

fn main() {
    let mut level = OptLevel::O0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--opt" {
            let v = args.next().unwrap_or_default();
            level = OptLevel::from_name(&v).unwrap_or_else(|| {
                eprintln!("compile_scaling: bad --opt {v:?}");
                std::process::exit(2)
            });
        }
    }
    let config = JitConfig {
        opt_level: level,
        ..JitConfig::compile_everything()
    };
    println!("opt level {level:?}\n");
    println!("| shape | KiB | instructions | blocks | IR ms | opt ms | emit ms | total ms | code KiB | analyzer |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut rng = XorShift::new(24);
    for kib in [1usize, 2, 4, 8, 16, 24] {
        let size = kib * 1024;
        for (shape, code) in [
            ("mixed", mixed(&mut rng, size)),
            ("straight", straight(&mut rng, size)),
            ("jumpdests", jumpdests(size)),
        ] {
            let shape_info = analyzer::measure(&code, Revision::Cancun);
            let verdict = match analyzer::analyze(&code, Revision::Cancun, &config.limits) {
                Ok(_) => "ok".to_owned(),
                Err(r) => format!("rejected: {r}"),
            };
            let analysis = Arc::new(ember_evm::CodeAnalysis::new(&code));
            match compile_analyzed(analysis, Revision::Cancun, &config) {
                Ok(c) => {
                    let s = c.stats();
                    println!(
                        "| {shape} | {kib} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {verdict} |",
                        shape_info.instructions,
                        shape_info.blocks,
                        s.ir_ns as f64 / 1e6,
                        s.opt_ns as f64 / 1e6,
                        s.emit_ns as f64 / 1e6,
                        (s.ir_ns + s.opt_ns + s.emit_ns) as f64 / 1e6,
                        s.code_bytes as f64 / 1024.0
                    );
                }
                Err(e) => println!("| {shape} | {kib} | compile failed: {e} |"),
            }
        }
    }
}
