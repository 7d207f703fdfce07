use super::*;
use crate::host::StorageStatus;

fn u(x: u64) -> U256 {
    U256::from(x)
}

#[test]
fn exp_gas_per_exponent_byte() {
    assert_eq!(exp_cost(Revision::Frontier, &u(0)), 0);
    assert_eq!(exp_cost(Revision::Frontier, &u(255)), 10);
    assert_eq!(exp_cost(Revision::Frontier, &u(256)), 20);
    assert_eq!(exp_cost(Revision::SpuriousDragon, &u(256)), 100);
    assert_eq!(exp_cost(Revision::Cancun, &U256::MAX), 32 * 50);
}

#[test]
fn sstore_schedules() {
    use StorageStatus::*;
    // Legacy (Frontier..Byzantium, Petersburg).
    assert_eq!(sstore_cost(Revision::Byzantium, Added), (20000, 0));
    assert_eq!(sstore_cost(Revision::Petersburg, Deleted), (5000, 15000));
    assert_eq!(sstore_cost(Revision::Petersburg, Assigned), (5000, 0));
    // EIP-1283.
    assert_eq!(sstore_cost(Revision::Constantinople, Assigned), (200, 0));
    assert_eq!(
        sstore_cost(Revision::Constantinople, ModifiedRestored),
        (200, 4800)
    );
    // EIP-2200.
    assert_eq!(
        sstore_cost(Revision::Istanbul, DeletedRestored),
        (800, -10800)
    );
    assert_eq!(sstore_cost(Revision::Istanbul, AddedDeleted), (800, 19200));
    // EIP-2929 (Berlin) and EIP-3529 (London).
    assert_eq!(sstore_cost(Revision::Berlin, Modified), (2900, 0));
    assert_eq!(sstore_cost(Revision::Berlin, Deleted), (2900, 15000));
    assert_eq!(sstore_cost(Revision::London, Deleted), (2900, 4800));
    assert_eq!(sstore_cost(Revision::London, DeletedAdded), (100, -4800));
    assert_eq!(sstore_cost(Revision::London, ModifiedRestored), (100, 2800));
    assert_eq!(sstore_cost(Revision::London, AddedDeleted), (100, 19900));
}
