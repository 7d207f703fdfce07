//! Random but valid cases: a pre-state of a few accounts whose code comes from an
//! opcode-aware generator, a block for the revision, and one transaction of a type the
//! revision knows (calls and creates).

use ember_evm::{Address, Revision, ALL_REVISIONS, B256, U256};
use ember_state::{AccessListItem, Account, Authorization, BlockEnv, Transaction};
use std::collections::HashMap;
use std::sync::Arc;

/// A source of choices: the fuzzer's bytes first, then a xorshift stream seeded from them,
/// so that every input (even an empty one) gives a complete case.
pub struct Rng<'a> {
    bytes: &'a [u8],
    state: u64,
}

impl<'a> Rng<'a> {
    /// Choices read from `bytes`, continued by a stream seeded from their hash.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        let seed = bytes.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng {
            bytes,
            state: seed | 1,
        }
    }

    /// Choices from a fixed seed alone.
    pub fn from_seed(seed: u64) -> Rng<'static> {
        Rng {
            bytes: &[],
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        }
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        if let Some((first, rest)) = self.bytes.split_first() {
            self.bytes = rest;
            self.state ^= u64::from(*first) << 7;
        }
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One generated case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The revision.
    pub rev: Revision,
    /// The block.
    pub block: BlockEnv,
    /// The accounts before the transaction.
    pub pre: Vec<(Address, Account)>,
    /// The transaction.
    pub tx: Transaction,
}

/// The sender: an account without code, well funded.
pub const SENDER: Address = Address([0x5e; 20]);
/// The block's coinbase.
pub const COINBASE: Address = Address([0xcb; 20]);

/// The contract accounts, each with generated code.
fn contract(i: u8) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0xc0;
    a[19] = i;
    Address(a)
}

/// Addresses code refers to: contracts, the sender, the coinbase, a precompile, a missing
/// account and an empty one.
fn targets() -> Vec<Address> {
    let mut t: Vec<Address> = (0..4).map(contract).collect();
    let mut precompile = [0u8; 20];
    precompile[19] = 4; // identity: no backend needed, cheap.
    t.extend([
        SENDER,
        COINBASE,
        Address(precompile),
        Address([0x99; 20]),
        Address([0xee; 20]),
    ]);
    t
}

/// Opcodes the generator uses, with their stack inputs. Unknown ones in an old revision are
/// simply invalid there, which both engines must agree on.
const OPS: &[(u8, u8)] = &[
    (0x01, 2),
    (0x02, 2),
    (0x03, 2),
    (0x04, 2),
    (0x05, 2),
    (0x06, 2),
    (0x07, 2),
    (0x08, 3),
    (0x09, 3),
    (0x0a, 2),
    (0x0b, 2),
    (0x10, 2),
    (0x11, 2),
    (0x12, 2),
    (0x13, 2),
    (0x14, 2),
    (0x15, 1),
    (0x16, 2),
    (0x17, 2),
    (0x18, 2),
    (0x19, 1),
    (0x1a, 2),
    (0x1b, 2),
    (0x1c, 2),
    (0x1d, 2),
    (0x20, 2),
    (0x30, 0),
    (0x31, 1),
    (0x32, 0),
    (0x33, 0),
    (0x34, 0),
    (0x35, 1),
    (0x36, 0),
    (0x37, 3),
    (0x38, 0),
    (0x39, 3),
    (0x3a, 0),
    (0x3b, 1),
    (0x3c, 4),
    (0x3d, 0),
    (0x3e, 3),
    (0x3f, 1),
    (0x40, 1),
    (0x41, 0),
    (0x42, 0),
    (0x43, 0),
    (0x44, 0),
    (0x45, 0),
    (0x46, 0),
    (0x47, 0),
    (0x48, 0),
    (0x49, 1),
    (0x4a, 0),
    (0x50, 1),
    (0x51, 1),
    (0x52, 2),
    (0x53, 2),
    (0x54, 1),
    (0x55, 2),
    (0x55, 2),
    (0x54, 1),
    (0x59, 0),
    (0x5a, 0),
    (0x5c, 1),
    (0x5d, 2),
    (0x5e, 3),
    (0xa0, 2),
    (0xa1, 3),
    (0xa2, 4),
    (0x80, 1),
    (0x81, 2),
    (0x90, 2),
    (0x91, 3),
];

/// An argument worth pushing: small numbers, memory-sized offsets, addresses, extremes.
fn push_arg(rng: &mut Rng<'_>, code: &mut Vec<u8>, targets: &[Address]) {
    match rng.below(40) {
        0..=29 => code.extend([0x60, rng.below(64) as u8]),
        30 | 31 => code.extend([0x61, 0x01, rng.below(256) as u8]),
        32 | 33 => {
            code.push(0x73);
            code.extend_from_slice(&rng.pick(targets).0);
        }
        34 => {
            code.push(0x7f);
            code.extend(std::iter::repeat_n(0xff, 32));
        }
        35 => code.push(0x5a), // GAS
        _ => {
            let n = 1 + rng.below(32) as usize;
            code.push(0x5f + n as u8);
            for _ in 0..n {
                code.push(rng.bits() as u8);
            }
        }
    }
}

/// Code of up to `len` instructions: each instruction gets its arguments pushed first, so
/// most runs go past the first few instructions; calls and creates go to known addresses
/// with bounded gas; the code ends in STOP, RETURN, REVERT, INVALID or SELFDESTRUCT.
/// Opcodes the revision lacks are rare (one pick in ten keeps one), so that most code runs.
pub fn code(rng: &mut Rng<'_>, len: usize, targets: &[Address], rev: Revision) -> Vec<u8> {
    let known = |op: u8| ember_evm::opcodes::since(op).is_some_and(|r| r <= rev);
    let mut c = Vec::new();
    let n = rng.below(len as u64 + 1);
    for _ in 0..n {
        match rng.below(20) {
            // CALL, CALLCODE, DELEGATECALL, STATICCALL with a bounded gas.
            0 | 1 => {
                let mut op = rng.pick(&[0xf1u8, 0xf2, 0xf4, 0xfa]);
                if !known(op) && rng.chance(90) {
                    op = 0xf1;
                }
                for _ in 0..4 {
                    c.extend([0x60, rng.below(64) as u8]);
                }
                if matches!(op, 0xf1 | 0xf2) {
                    c.extend([0x60, rng.below(3) as u8]);
                }
                c.push(0x73);
                c.extend_from_slice(&rng.pick(targets).0);
                c.extend([0x62, 0x00, rng.below(256) as u8, rng.below(256) as u8]);
                c.push(op);
            }
            // CREATE or CREATE2 of a small init code stored in memory first.
            2 => {
                let init = [0x60, rng.below(4) as u8, 0x60, 0x00, 0xf3];
                let mut word = [0u8; 32];
                word[..5].copy_from_slice(&init);
                c.push(0x7f);
                c.extend_from_slice(&word);
                c.extend([0x60, 0x00, 0x52]);
                let create2 = known(0xf5) && rng.chance(50);
                if create2 {
                    c.extend([0x60, rng.below(4) as u8]);
                }
                c.extend([0x60, 0x05, 0x60, 0x00, 0x60, rng.below(2) as u8]);
                c.push(if create2 { 0xf5 } else { 0xf0 });
            }
            3 => c.push(rng.pick(&[0x5bu8, 0x58, 0x80, 0x50])),
            _ => {
                let mut pick = rng.pick(OPS);
                while !known(pick.0) && rng.chance(90) {
                    pick = rng.pick(OPS);
                }
                let (op, inputs) = pick;
                for _ in 0..inputs {
                    push_arg(rng, &mut c, targets);
                }
                c.push(op);
            }
        }
    }
    match rng.below(8) {
        0 => c.push(0x00),
        1 | 2 => c.extend([0x60, 0x20, 0x60, 0x00, 0xf3]),
        3 => c.extend([0x60, 0x20, 0x60, 0x00, 0xfd]),
        4 => c.push(0xfe),
        5 => {
            c.push(0x73);
            c.extend_from_slice(&rng.pick(targets).0);
            c.push(0xff);
        }
        _ => {}
    }
    c
}

fn word(rng: &mut Rng<'_>) -> B256 {
    let mut w = [0u8; 32];
    if rng.chance(70) {
        w[31] = rng.below(8) as u8;
    } else {
        for b in &mut w {
            *b = rng.bits() as u8;
        }
    }
    B256(w)
}

fn storage(rng: &mut Rng<'_>) -> HashMap<B256, B256> {
    (0..rng.below(4))
        .map(|_| (word(rng), word(rng)))
        .filter(|(_, v)| !v.is_zero())
        .collect()
}

/// The revisions the fuzzer covers: all of them.
pub fn revisions() -> &'static [Revision] {
    &ALL_REVISIONS
}

/// A random case for `rev` (or a random revision when `None`).
pub fn case(rng: &mut Rng<'_>, rev: Option<Revision>) -> Case {
    let rev = rev.unwrap_or_else(|| rng.pick(revisions()));
    let targets = targets();
    let mut pre = vec![(
        SENDER,
        Account {
            balance: U256::from(1u64 << 62),
            nonce: rng.below(3),
            ..Account::default()
        },
    )];
    for i in 0..4 {
        pre.push((
            contract(i),
            Account {
                balance: U256::from(rng.below(1000)),
                nonce: rng.below(2),
                code: Arc::from(code(rng, 24, &targets, rev)),
                storage: storage(rng),
            },
        ));
    }
    if rng.chance(50) {
        pre.push((Address([0xee; 20]), Account::default()));
    }
    if rng.chance(30) {
        pre.push((COINBASE, Account::default()));
    }

    let london = rev >= Revision::London;
    let base_fee = if london { rng.below(8) } else { 0 };
    let block = BlockEnv {
        number: 1 + rng.below(1000),
        timestamp: 1 + rng.below(1 << 20),
        gas_limit: 30_000_000,
        coinbase: COINBASE,
        base_fee: U256::from(base_fee),
        prev_randao: word(rng),
        excess_blob_gas: 0,
        blob_schedule: None,
        chain_id: U256::from(1),
    };

    let tx_type = match rng.below(6) {
        1 if rev >= Revision::Berlin => 1,
        2 if london => 2,
        3 if rev >= Revision::Cancun => 3,
        4 if rev >= Revision::Prague => 4,
        _ => 0,
    };
    let create = tx_type < 3 && rng.chance(20);
    let data = if create {
        // Init code that returns some generated runtime code.
        let runtime = code(rng, 8, &targets, rev);
        let mut init = Vec::new();
        for (i, b) in runtime.iter().enumerate() {
            init.extend([0x60, *b, 0x60, i as u8, 0x53]);
        }
        init.extend([0x60, runtime.len() as u8, 0x60, 0x00, 0xf3]);
        if runtime.len() > 255 {
            init.truncate(0);
        }
        init
    } else {
        (0..rng.below(40)).map(|_| rng.bits() as u8).collect()
    };
    let price = base_fee + rng.below(4);
    let mut tx = Transaction {
        tx_type,
        sender: SENDER,
        to: (!create).then(|| contract(rng.below(4) as u8)),
        nonce: pre[0].1.nonce,
        gas_limit: 21_000 + rng.below(400_000),
        gas_price: U256::from(price),
        max_fee_per_gas: U256::from(price + rng.below(3)),
        max_priority_fee_per_gas: U256::from(rng.below(3)),
        value: U256::from(rng.below(3)),
        data,
        ..Transaction::default()
    };
    if tx_type >= 1 && rng.chance(50) {
        tx.access_list = vec![AccessListItem {
            address: rng.pick(&targets),
            storage_keys: (0..rng.below(3)).map(|_| word(rng)).collect(),
        }];
    }
    if tx_type == 3 {
        let mut h = [0u8; 32];
        h[0] = 1;
        tx.blob_hashes = vec![B256(h); 1 + rng.below(2) as usize];
        tx.max_fee_per_blob_gas = U256::from(1 + rng.below(2));
    }
    if tx_type == 4 {
        tx.authorization_list = (0..1 + rng.below(2))
            .map(|_| authorization(rng, &pre, &targets))
            .collect();
    }
    Case {
        rev,
        block,
        pre,
        tx,
    }
}

/// An EIP-7702 authorization with a known authority (the sender, a contract, a fresh
/// account), mostly for this chain and at the authority's nonce, delegating to a target or
/// clearing the delegation. The signature fields are valid placeholders: both engines take
/// the authority as given instead of recovering it.
fn authorization(
    rng: &mut Rng<'_>,
    pre: &[(Address, Account)],
    targets: &[Address],
) -> Authorization {
    let authority = match rng.below(4) {
        0 => SENDER,
        1 => contract(rng.below(4) as u8),
        _ => Address([0xa0 + rng.below(2) as u8; 20]),
    };
    let mut nonce = pre
        .iter()
        .find(|(a, _)| *a == authority)
        .map_or(0, |(_, acc)| acc.nonce);
    if authority == SENDER {
        // The sender's nonce is bumped before authorizations apply.
        nonce += 1;
    }
    if rng.chance(15) {
        nonce += 1;
    }
    Authorization {
        chain_id: U256::from(rng.pick(&[1u64, 1, 1, 0, 2])),
        address: if rng.chance(15) {
            Address::ZERO
        } else {
            rng.pick(targets)
        },
        nonce,
        y_parity: U256::ZERO,
        r: U256::from(1),
        s: U256::from(1),
        signer: Some(authority),
    }
}
