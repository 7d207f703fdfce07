//! The recording host undoes a failed nested frame's changes but keeps its effects on record.

use ember_evm::{Interpreter, StatusCode, B256, U256};
use ember_testkit::{address, assemble, run, Case, Effect, CALLEE, CONTRACT};

/// Calls the callee with 32 bytes of calldata whose first byte is `first` (0xff makes the
/// callee revert after storing and logging), with value 9.
fn caller(first: u8) -> Vec<u8> {
    assemble(&format!(
        "PUSH1 {first} PUSH1 248 SHL PUSH1 0 MSTORE \
         PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 9 PUSH1 {CALLEE} GAS CALL STOP"
    ))
    .unwrap()
}

fn slot_one() -> B256 {
    B256::from_word(U256::from(1u64))
}

#[test]
fn a_successful_frame_keeps_its_changes() {
    let code = caller(0x01);
    let out = run(&Interpreter, &Case::new(&code));
    assert_eq!(out.result.status, StatusCode::Success);
    let stored = out.world.storage.get(&(address(CALLEE), slot_one()));
    assert_eq!(stored, Some(&B256::from_word(U256::from(9u64))));
    assert_eq!(out.world.logs.len(), 1);
    assert_eq!(out.world.logs[0].0, address(CALLEE));
}

#[test]
fn a_failed_frame_is_undone_but_recorded() {
    let code = caller(0xff);
    let out = run(&Interpreter, &Case::new(&code));
    assert_eq!(out.result.status, StatusCode::Success, "the caller goes on");
    assert_eq!(out.world.storage.get(&(address(CALLEE), slot_one())), None);
    assert!(out.world.logs.is_empty());
    assert!(!out
        .world
        .warm_slots
        .contains(&(address(CALLEE), slot_one())));
    // The contract's own pre-set slots stand.
    assert!(out
        .world
        .storage
        .keys()
        .all(|(a, _)| *a == address(CONTRACT)));
    let kinds: Vec<_> = out
        .effects
        .iter()
        .map(|e| match e {
            Effect::Storage { addr, .. } => ("storage", *addr),
            Effect::Log { addr, .. } => ("log", *addr),
            Effect::Call(c) => {
                assert_eq!(c.result.status, StatusCode::Revert);
                ("call", c.recipient)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let callee = address(CALLEE);
    assert_eq!(
        kinds,
        [("storage", callee), ("log", callee), ("call", callee)]
    );
}

#[test]
fn a_host_asked_to_panic_does() {
    let code = caller(0x01);
    let case = Case::new(&code);
    let mut host = ember_testkit::world(&Interpreter, &case);
    host.panic_in("call");
    let msg = ember_testkit::message(&case);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ember_evm::Vm::execute(&Interpreter, &mut host, case.rev, &msg, &code, None)
    }));
    assert!(caught.is_err());
}
