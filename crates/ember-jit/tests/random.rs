//! Deterministic random-program differential test: a few thousand generated programs run in
//! the interpreter and in compiled code, at several revisions and gas limits, compiled both
//! without and against a random speculation.

use ember_evm::{CodeAnalysis, Revision};
use ember_jit::difftest::{compare_compiled, speculation_for};
use ember_jit::{compile_speculative, ExitKind, JitVm};
use ember_testkit::{compare, random_jump_program, random_program, Case, XorShift};
use std::sync::Arc;

#[test]
fn random_programs_agree() {
    let jit = JitVm::default();
    let programs = 3000;
    let mut rng = XorShift::new(0x5eed);
    let revs = [
        Revision::Frontier,
        Revision::Byzantium,
        Revision::Istanbul,
        Revision::Berlin,
        Revision::Shanghai,
        Revision::Cancun,
        Revision::Osaka,
    ];
    let mut failures = Vec::new();
    let (mut halts, mut exits) = (0, 0);
    // Speculations come from their own generator, so the programs stay those of the seed.
    let mut spec_rng = XorShift::new(0x5bec);
    let (mut recompile_exits, mut speculative) = (0, 0);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..programs {
        let items = 5 + rng.below(60) as usize;
        let code = random_program(&mut rng, items);
        // Half the programs at the newest revision, where every generated opcode exists.
        let rev = if rng.below(2) == 0 {
            Revision::Osaka
        } else {
            revs[rng.below(revs.len() as u64) as usize]
        };
        let input: Vec<u8> = (0..rng.below(70)).map(|_| rng.next_u64() as u8).collect();
        let gases = [rng.below(300) as i64, rng.below(20_000) as i64, 200_000];
        let plain = jit
            .lookup(&code, rev, None)
            .unwrap_or_else(|e| panic!("program {i} was not compiled: {e}"));
        let spec = speculation_for(
            &mut spec_rng,
            &Case {
                code: &code,
                input: &input,
                gas: gases[2],
                rev,
                flags: 0,
            },
        );
        // Without computed jumps the code is the same either way: no need to compile again.
        let spec_code = (plain.speculation_stats().table_sites > 0).then(|| {
            compile_speculative(
                Arc::new(CodeAnalysis::new(&code)),
                rev,
                jit.config(),
                Some(&spec),
            )
            .unwrap_or_else(|e| panic!("program {i} against {spec:?}: {e}"))
        });
        speculative += spec_code.as_ref().is_some_and(|c| c.is_speculative()) as u32;
        for gas in gases {
            let case = Case {
                code: &code,
                input: &input,
                gas,
                rev,
                flags: 0,
            };
            match compare(&jit, &case) {
                Ok(out) => {
                    *statuses
                        .entry(format!("{:?}", out.result.status))
                        .or_insert(0) += 1
                }
                Err(e) => failures.push(format!("program {i}: {e}")),
            }
            match spec_code.as_ref().map(|c| compare_compiled(c, &case)) {
                Some(Ok((_, e))) => {
                    recompile_exits += e.iter().filter(|e| e.kind == ExitKind::Recompile).count()
                }
                Some(Err(e)) => failures.push(format!("program {i} against {spec:?}: {e}")),
                None => {}
            }
        }
        let (h, e) = plain.exit_counts();
        halts += h;
        exits += e;
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs disagree; first:\n{}",
        failures.len(),
        programs * 3,
        failures[..failures.len().min(3)].join("\n")
    );
    println!("{programs} programs, {:?}", jit.stats());
    println!("native halts {halts}, side exits {exits}, statuses {statuses:?}");
    println!(
        "speculative compiles: {speculative} of {programs} with recompile exits, \
         {recompile_exits} recompile exits taken"
    );
    // Few generated programs have computed jumps (most targets fold to constants); the
    // next test is the one with many.
    assert!(speculative > 0);
}

/// Programs full of computed jumps ([`random_jump_program`]), compiled against speculations
/// profiled on other calldata and randomly changed, at revisions from Constantinople (SHL
/// and SHR) on and several gas limits.
#[test]
fn random_jump_programs_agree_when_speculating() {
    let jit = JitVm::default();
    let mut rng = XorShift::new(0x1e4b);
    let revs = [
        Revision::Constantinople,
        Revision::Istanbul,
        Revision::London,
        Revision::Cancun,
        Revision::Osaka,
    ];
    let (mut exits, mut kinds) = (0, std::collections::BTreeMap::new());
    for i in 0..300 {
        let blocks = 1 + rng.below(20) as usize;
        let code = random_jump_program(&mut rng, blocks);
        let rev = revs[rng.below(revs.len() as u64) as usize];
        let input: Vec<u8> = (0..rng.below(80)).map(|_| rng.next_u64() as u8).collect();
        let case = |gas| Case {
            code: &code,
            input: &input,
            gas,
            rev,
            flags: 0,
        };
        let spec = speculation_for(&mut rng, &case(1_000_000));
        let c = compile_speculative(
            Arc::new(CodeAnalysis::new(&code)),
            rev,
            jit.config(),
            Some(&spec),
        )
        .unwrap_or_else(|e| panic!("program {i} against {spec:?}: {e}"));
        for gas in [
            rng.below(2_000) as i64,
            rng.below(100_000) as i64,
            1_000_000,
        ] {
            compare(&jit, &case(gas)).unwrap_or_else(|e| panic!("program {i}: {e}"));
            let (_, e) = compare_compiled(&c, &case(gas))
                .unwrap_or_else(|e| panic!("program {i} against {spec:?}: {e}"));
            exits += e.len();
            for e in e {
                *kinds.entry(format!("{:?}", e.kind)).or_insert(0) += 1;
            }
        }
    }
    println!("{exits} side exits: {kinds:?}");
    assert!(
        kinds.get("Recompile").is_some_and(|&n| n > 100),
        "{kinds:?}"
    );
}

/// Code in a heap above 2 GiB is compiled with the large code model; dynamic jumps over many
/// JUMPDESTs (jump tables) must work there too.
#[test]
fn random_programs_agree_in_a_high_heap() {
    let heap = ember_jit::CodeHeap::new_anywhere(64 << 20).unwrap();
    assert!(
        !heap.is_low(),
        "the kernel placed the heap low; nothing to test"
    );
    let jit = JitVm::new(ember_jit::JitConfig {
        heap: Some(heap),
        ..ember_jit::JitConfig::compile_everything()
    });
    let mut rng = XorShift::new(0xb16);
    for i in 0..150 {
        let code = random_program(&mut rng, 80);
        for gas in [rng.below(5000) as i64, 100_000] {
            let case = Case {
                gas,
                ..Case::new(&code)
            };
            if let Err(e) = compare(&jit, &case) {
                panic!("program {i}: {e}");
            }
        }
        assert!(jit.lookup(&code, Revision::Osaka, None).is_ok());
    }
}

/// The optimised level (`O1`: IR passes and the "less" code generator) keeps the
/// interpreter's semantics too: its passes see the whole block and may rewrite what O0 leaves.
#[test]
fn random_programs_agree_at_o1() {
    let jit = JitVm::at_level(ember_jit::OptLevel::O1);
    let mut rng = XorShift::new(0x01);
    for i in 0..200 {
        let items = 5 + rng.below(80) as usize;
        let code = random_program(&mut rng, items);
        let input: Vec<u8> = (0..rng.below(70)).map(|_| rng.next_u64() as u8).collect();
        for gas in [rng.below(300) as i64, rng.below(20_000) as i64, 200_000] {
            let case = Case {
                gas,
                input: &input,
                ..Case::new(&code)
            };
            if let Err(e) = compare(&jit, &case) {
                panic!("program {i}: {e}");
            }
        }
        assert!(jit.lookup(&code, Revision::Osaka, None).is_ok());
    }
}

/// One `JitVm` shared by threads that compile and run at the same time (the shared code
/// heap, LLVM's global state and the cache).
#[test]
fn threads_share_one_jit() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JitVm>();
    assert_send_sync::<ember_jit::CompiledContract>();
    let jit = JitVm::default();
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let jit = &jit;
            s.spawn(move || {
                // Threads 0 and 1 generate the same programs, so they also race on the
                // cache entries.
                let mut rng = XorShift::new(0x7e57 + t / 2);
                for i in 0..150 {
                    let code = random_program(&mut rng, 40);
                    if let Err(e) = compare(jit, &Case::new(&code)) {
                        panic!("thread {t}, program {i}: {e}");
                    }
                }
            });
        }
    });
    assert_eq!(jit.stats().interpreter_only, 0);
}
