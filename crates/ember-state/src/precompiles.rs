//! Precompiled contracts per revision, run through the `revm-precompile` crate.

use ember_evm::{Address, ExecResult, Revision, StatusCode};
use revm_precompile::{PrecompileSpecId, PrecompileStatus, Precompiles};

/// The precompile set `revm-precompile` defines for the revision.
fn spec(rev: Revision) -> PrecompileSpecId {
    use Revision::*;
    match rev {
        Frontier | Homestead | TangerineWhistle | SpuriousDragon => PrecompileSpecId::HOMESTEAD,
        Byzantium | Constantinople | Petersburg => PrecompileSpecId::BYZANTIUM,
        Istanbul => PrecompileSpecId::ISTANBUL,
        Berlin | London | Paris | Shanghai => PrecompileSpecId::BERLIN,
        Cancun => PrecompileSpecId::CANCUN,
        Prague => PrecompileSpecId::PRAGUE,
        Osaka => PrecompileSpecId::OSAKA,
    }
}

fn to_revm(addr: &Address) -> revm_precompile::primitives::Address {
    revm_precompile::primitives::Address::new(addr.0)
}

/// Whether `addr` holds a precompile in `rev` (0x01..=0x04 from Frontier, 0x05..=0x08 from
/// Byzantium, 0x09 from Istanbul, 0x0a from Cancun, 0x0b..=0x11 from Prague, 0x100 from Osaka).
pub fn is_precompile(rev: Revision, addr: &Address) -> bool {
    // Every precompile address is below 2^16; skip the map lookup for ordinary accounts.
    if addr.0[..18].iter().any(|b| *b != 0) {
        return false;
    }
    Precompiles::new(spec(rev)).contains(&to_revm(addr))
}

/// Runs the precompile at `addr` with `gas`; `None` if there is none in `rev`.
///
/// Success leaves the unused gas; running out of gas gives `OutOfGas` and any other
/// failure `PrecompileFailure`, both with no gas left.
pub fn run_precompile(rev: Revision, addr: &Address, input: &[u8], gas: i64) -> Option<ExecResult> {
    if addr.0[..18].iter().any(|b| *b != 0) {
        return None;
    }
    let precompile = Precompiles::new(spec(rev)).get(&to_revm(addr))?;
    let gas_limit = u64::try_from(gas).unwrap_or(0);
    let result = match precompile.execute(input, gas_limit, 0) {
        Ok(out) => match out.status {
            PrecompileStatus::Success | PrecompileStatus::Revert if out.gas_used <= gas_limit => {
                let gas_left = (gas_limit - out.gas_used) as i64;
                let status = if out.status.is_success() {
                    StatusCode::Success
                } else {
                    StatusCode::Revert
                };
                ExecResult {
                    status,
                    gas_left,
                    gas_refund: 0,
                    output: out.bytes.to_vec(),
                    create_address: None,
                }
            }
            PrecompileStatus::Success | PrecompileStatus::Revert => {
                ExecResult::failure(StatusCode::OutOfGas)
            }
            PrecompileStatus::Halt(revm_precompile::PrecompileHalt::OutOfGas) => {
                ExecResult::failure(StatusCode::OutOfGas)
            }
            PrecompileStatus::Halt(_) => ExecResult::failure(StatusCode::PrecompileFailure),
        },
        Err(_) => ExecResult::failure(StatusCode::PrecompileFailure),
    };
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{keccak256, parse_hex, ALL_REVISIONS};

    fn addr(n: u16) -> Address {
        let mut a = [0u8; 20];
        a[18..].copy_from_slice(&n.to_be_bytes());
        Address(a)
    }

    #[test]
    fn dispatch_per_revision() {
        use Revision::*;
        // (address, first revision it exists in), from the EIPs that introduced them.
        let table: [(u16, Revision); 18] = [
            (1, Frontier),
            (2, Frontier),
            (3, Frontier),
            (4, Frontier),
            (5, Byzantium),
            (6, Byzantium),
            (7, Byzantium),
            (8, Byzantium),
            (9, Istanbul),
            (0x0a, Cancun),
            (0x0b, Prague),
            (0x0c, Prague),
            (0x0d, Prague),
            (0x0e, Prague),
            (0x0f, Prague),
            (0x10, Prague),
            (0x11, Prague),
            (0x100, Osaka),
        ];
        for rev in ALL_REVISIONS {
            for (a, since) in table {
                assert_eq!(
                    is_precompile(rev, &addr(a)),
                    rev >= since,
                    "{a:#x} in {rev}"
                );
            }
            assert!(!is_precompile(rev, &addr(0)));
            assert!(!is_precompile(rev, &addr(0x12)));
            assert!(!is_precompile(rev, &Address([0xff; 20])));
            let mut high = addr(1);
            high.0[0] = 1;
            assert!(!is_precompile(rev, &high));
        }
    }

    #[test]
    fn identity_charges_15_plus_3_per_word() {
        let r = run_precompile(Revision::Cancun, &addr(4), b"hello", 100).unwrap();
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(r.gas_left, 100 - 18);
        assert_eq!(r.output, b"hello");
        let r = run_precompile(Revision::Cancun, &addr(4), &[0; 33], 20).unwrap();
        assert_eq!(r, ExecResult::failure(StatusCode::OutOfGas));
    }

    #[test]
    fn sha256_of_empty_input() {
        let r = run_precompile(Revision::Frontier, &addr(2), &[], 1000).unwrap();
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(r.gas_left, 1000 - 60);
        assert_eq!(
            r.output,
            parse_hex("0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .unwrap()
        );
    }

    #[test]
    fn failures_consume_all_gas() {
        // BLAKE2F needs exactly 213 bytes of input (EIP-152).
        let r = run_precompile(Revision::Istanbul, &addr(9), &[0; 10], 100_000).unwrap();
        assert_eq!(r, ExecResult::failure(StatusCode::PrecompileFailure));
        assert!(run_precompile(Revision::Byzantium, &addr(9), &[], 100).is_none());
        assert!(run_precompile(Revision::Cancun, &addr(0x20), &[], 100).is_none());
        // Negative gas (not produced by a sane caller) is treated as none.
        let r = run_precompile(Revision::Cancun, &addr(4), &[], -5).unwrap();
        assert_eq!(r.status, StatusCode::OutOfGas);
    }

    #[test]
    fn ecrecover_of_an_invalid_signature_returns_nothing() {
        // r = s = 0 is not a valid signature: ECRECOVER returns empty output and still
        // charges its 3000 gas (Yellow Paper appendix E).
        let mut input = [0u8; 128];
        input[..32].copy_from_slice(&keccak256(b"").0);
        input[63] = 27;
        let r = run_precompile(Revision::Berlin, &addr(1), &input, 5000).unwrap();
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(r.gas_left, 2000);
        assert!(r.output.is_empty());
    }
}
