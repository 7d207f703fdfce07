//! The fixed cost of a compile: the time to compile contracts of a few bytes, split into IR
//! (with the compiler's setup), optimisation and emission, next to what creating one LLVM
//! target machine costs.
//!
//! ```text
//! cargo run --release -p ember-jit --example compile_floor
//! ```

use ember_evm::Revision;
use ember_jit::{compile, JitConfig};
use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: u32 = 200;

fn main() {
    Target::initialize_native(&InitializationConfig::default())
        .expect("LLVM's native target initialises");
    let t = Instant::now();
    for _ in 0..ROUNDS {
        let triple = TargetMachine::get_default_triple();
        let target = Target::from_triple(&triple).expect("the host triple has a target");
        let cpu = TargetMachine::get_host_cpu_name().to_string();
        let features = TargetMachine::get_host_cpu_features().to_string();
        black_box(target.create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::None,
            RelocMode::Static,
            CodeModel::Small,
        ));
    }
    let per = t.elapsed().as_secs_f64() * 1e3 / f64::from(ROUNDS);
    println!("one LLVM target machine: {per:.3} ms");

    let config = JitConfig::compile_everything();
    // STOP; PUSH1 1 PUSH1 2 ADD STOP.
    for code in [vec![0x00u8], vec![0x60, 1, 0x60, 2, 0x01, 0x00]] {
        compile(&code, Revision::Cancun, &config).expect("a tiny contract compiles");
        let (mut ir, mut opt, mut emit) = (0, 0, 0);
        let t = Instant::now();
        for _ in 0..ROUNDS {
            let c = compile(&code, Revision::Cancun, &config).expect("a tiny contract compiles");
            let s = c.stats();
            (ir, opt, emit) = (ir + s.ir_ns, opt + s.opt_ns, emit + s.emit_ns);
        }
        let ms = |ns: u64| ns as f64 / 1e6 / f64::from(ROUNDS);
        println!(
            "a {}-byte contract: {:.3} ms per compile (IR {:.3}, optimisation {:.3}, emission {:.3})",
            code.len(),
            t.elapsed().as_secs_f64() * 1e3 / f64::from(ROUNDS),
            ms(ir),
            ms(opt),
            ms(emit)
        );
    }
}
