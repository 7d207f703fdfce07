//! Random program generators, seeded so a seed gives the same program on every machine.

use crate::{assemble, CALLEE};

/// A xorshift64* generator: a fixed seed gives the same programs on every machine.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is remapped, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items` (not empty), uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

enum Item {
    Bytes(Vec<u8>),
    Label,
    /// PUSH2 <label> then the jump opcode.
    Jump(usize, u8),
}

/// Interesting 256-bit operands: boundaries of shifts, bytes, signs and widths.
fn interesting_word(rng: &mut XorShift) -> Vec<u8> {
    let mut w = [0u8; 32];
    match rng.below(8) {
        0 => w[31] = rng.pick(&[0, 1, 2, 7, 8, 31, 32, 33, 255]),
        1 => w[30..].copy_from_slice(&rng.pick(&[255u16, 256, 257, 511, 1024]).to_be_bytes()),
        2 => w[0] = 0x80,
        3 => w = [0xff; 32],
        4 => {
            w = [0xff; 32];
            w[0] = 0x7f;
        }
        5 => w[24..].copy_from_slice(&rng.next_u64().to_be_bytes()),
        6 => w[16] = 1,
        _ => {
            for chunk in w.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next_u64().to_be_bytes());
            }
        }
    }
    let mut out = vec![0x7f];
    out.extend_from_slice(&w);
    out
}

/// (items needed on the stack, change of height) of an item run straight through.
fn stack_effect(it: &Item) -> (i64, i64) {
    let bytes: &[u8] = match it {
        Item::Bytes(b) => b,
        Item::Label => return (0, 0),
        Item::Jump(_, op) => {
            return if *op == ember_evm::opcodes::JUMPI {
                (1, -1)
            } else {
                (0, 0)
            }
        }
    };
    let (mut need, mut h) = (0i64, 0i64);
    let mut pc = 0;
    while pc < bytes.len() {
        let (pop, push) = ember_evm::opcodes::stack_io(bytes[pc]);
        need = need.max(pop as i64 - h);
        h += push as i64 - pop as i64;
        pc += 1 + ember_evm::opcodes::immediate_size(bytes[pc]);
    }
    (need, h)
}

/// A random program mixing arithmetic, stack shuffles, jumps (static, dynamic, invalid),
/// memory, storage, logs, calls and stray bytes. It runs in bounded gas, not bounded time,
/// so give it a gas limit.
pub fn random_program(rng: &mut XorShift, items: usize) -> Vec<u8> {
    use ember_evm::opcodes::*;
    const INLINE: &[u8] = &[
        ADD, SUB, MUL, AND, OR, XOR, LT, GT, SLT, SGT, EQ, SHL, SHR, SAR, BYTE, ISZERO, NOT,
    ];
    const STEPPED: &[u8] = &[
        DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND, CLZ, KECCAK256,
    ];
    const ENV: &[u8] = &[
        GAS,
        PC,
        MSIZE,
        CALLER,
        ADDRESS,
        CALLDATASIZE,
        CALLVALUE,
        RETURNDATASIZE,
        CODESIZE,
        SELFBALANCE,
        NUMBER,
        TIMESTAMP,
        CHAINID,
        BASEFEE,
        PUSH0,
    ];
    let mut list = Vec::new();
    let mut labels = 0usize;
    // The stack height along the straight-line layout: operands are pushed first when an
    // item needs more, so most programs run deep instead of underflowing at once (jumps make
    // the real height differ, which keeps some underflows and overflows in the mix).
    let mut depth = 0i64;
    for _ in 0..items {
        let it = match rng.below(100) {
            0..=19 => Item::Bytes(match rng.below(4) {
                0 => interesting_word(rng),
                1 => vec![PUSH0],
                _ => vec![PUSH1, rng.below(40) as u8],
            }),
            20..=39 => Item::Bytes(vec![rng.pick(INLINE)]),
            40..=46 => Item::Bytes(vec![rng.pick(STEPPED)]),
            47..=56 => {
                let n = if rng.below(4) == 0 {
                    rng.below(16)
                } else {
                    rng.below(3)
                } as u8;
                Item::Bytes(vec![if rng.below(2) == 0 {
                    DUP1 + n
                } else {
                    SWAP1 + n
                }])
            }
            57..=59 => Item::Bytes(vec![POP]),
            60..=64 => {
                let off = rng.below(96) as u8;
                Item::Bytes(match rng.below(3) {
                    0 => vec![PUSH1, off, MSTORE],
                    1 => vec![PUSH1, off, MLOAD],
                    _ => vec![PUSH1, off, MSTORE8],
                })
            }
            65..=67 => {
                let key = rng.below(3) as u8;
                Item::Bytes(if rng.below(2) == 0 {
                    vec![PUSH1, key, SLOAD]
                } else {
                    vec![PUSH1, key, SSTORE]
                })
            }
            68..=74 => {
                labels += 1;
                Item::Label
            }
            75..=81 => {
                let target = rng.below(labels as u64 + 2) as usize;
                Item::Jump(target, if rng.below(2) == 0 { JUMP } else { JUMPI })
            }
            82..=83 => {
                // A computed (dynamic) target: a label's pc plus zero, or a bad target.
                let target = rng.below(labels as u64 + 2) as usize;
                list.push(Item::Jump(target, POP));
                Item::Bytes(match rng.below(4) {
                    0 => vec![PUSH1, rng.below(200) as u8, JUMP],
                    _ => vec![PUSH1, 0, ADD, rng.pick(&[JUMP, JUMPI])],
                })
            }
            84..=88 => Item::Bytes(vec![rng.pick(ENV)]),
            89 => Item::Bytes(vec![PUSH1, 32, PUSH1, 0, LOG1]),
            90 => Item::Bytes(vec![
                PUSH1,
                0,
                PUSH1,
                0,
                PUSH1,
                32,
                PUSH1,
                0,
                PUSH1,
                rng.below(3) as u8,
                PUSH1,
                CALLEE,
                GAS,
                CALL,
            ]),
            91 => Item::Bytes(vec![rng.below(256) as u8]),
            92 => Item::Bytes(vec![PUSH1, 32, PUSH1, 0, rng.pick(&[RETURN, REVERT])]),
            93 => Item::Bytes(vec![rng.pick(&[STOP, INVALID, 0x0c])]),
            94..=95 => Item::Bytes(vec![PUSH1, 0, PUSH1, 3, TLOAD, TSTORE]),
            _ => Item::Bytes(vec![
                PUSH1,
                rng.below(64) as u8,
                PUSH1,
                rng.below(64) as u8,
                PUSH1,
                rng.below(64) as u8,
                rng.pick(&[MCOPY, CALLDATACOPY, CODECOPY]),
            ]),
        };
        let (need, delta) = stack_effect(&it);
        while depth < need {
            list.push(Item::Bytes(interesting_word(rng)));
            depth += 1;
        }
        depth += delta;
        list.push(it);
        if depth > 24 {
            list.push(Item::Bytes(vec![POP, POP, POP, POP]));
            depth -= 4;
        }
    }
    // Lay out: labels are JUMPDESTs; `Jump(l, op)` is PUSH2 <pc of label l> op (with POP
    // as "push only"); labels past the last one point to a non-JUMPDEST pc.
    let mut pcs = Vec::new();
    let mut pc = 0;
    for it in &list {
        match it {
            Item::Bytes(b) => pc += b.len(),
            Item::Label => {
                pcs.push(pc);
                pc += 1;
            }
            Item::Jump(_, op) => pc += if *op == POP { 3 } else { 4 },
        }
    }
    let mut code = Vec::with_capacity(pc);
    for it in &list {
        match it {
            Item::Bytes(b) => code.extend_from_slice(b),
            Item::Label => code.push(JUMPDEST),
            Item::Jump(l, op) => {
                let target = pcs.get(*l).copied().unwrap_or(pc + *l) as u16;
                code.push(PUSH2);
                code.extend_from_slice(&target.to_be_bytes());
                if *op != POP {
                    code.push(*op);
                }
            }
        }
    }
    code
}

/// A program made for speculation: `blocks` JUMPDEST blocks that each store a value, count
/// the blocks run (returning after 40), and leave through a computed jump. The jumps read a
/// calldata byte (at an offset that moves with the count) and jump through a table in
/// memory of the blocks' pcs, whose last entry may be a bad target; some jumps are JUMPIs
/// with a calldata condition, and some blocks call one of two shared "functions" first,
/// which return with a jump to the address the caller pushed, as solc's internal calls do.
/// Different calldata reaches different targets at every site.
pub fn random_jump_program(rng: &mut XorShift, blocks: usize) -> Vec<u8> {
    let blocks = blocks.clamp(1, 64);
    let table_len = blocks + 1;
    let counter = 32 * table_len;
    let mut src = String::new();
    for i in 0..blocks {
        src += &format!("&b{i} PUSH2 {} MSTORE ", 32 * i);
    }
    // pc 1 is the immediate of the first PUSH2: never a JUMPDEST.
    src += &format!("PUSH1 1 PUSH2 {} MSTORE ", 32 * blocks);
    let selector = |rng: &mut XorShift| {
        let slots = if rng.below(4) == 0 { table_len } else { blocks };
        format!(
            "PUSH2 {counter} MLOAD PUSH1 {} ADD CALLDATALOAD PUSH1 248 SHR PUSH1 {slots} SWAP1 MOD \
             PUSH1 5 SHL MLOAD ",
            rng.below(32)
        )
    };
    src += &selector(rng);
    src += "JUMP ";
    for i in 0..blocks {
        src += &format!(
            ":b{i} PUSH2 {counter} MLOAD PUSH1 1 ADD DUP1 PUSH2 {counter} MSTORE \
             PUSH1 40 LT &end JUMPI PUSH1 {} PUSH1 {} SSTORE ",
            rng.below(256),
            rng.below(4)
        );
        if rng.below(3) == 0 {
            src += &format!("&r{i} &f{} JUMP :r{i} ", rng.below(2));
        }
        match rng.below(3) {
            0 => {
                // A JUMPI on the top bit of a calldata byte; falls into the next block.
                src += &format!(
                    "PUSH2 {counter} MLOAD PUSH1 {} ADD CALLDATALOAD PUSH1 255 SHR ",
                    rng.below(32)
                );
                src += &selector(rng);
                src += "JUMPI ";
            }
            _ => {
                src += &selector(rng);
                src += "JUMP ";
            }
        }
    }
    src += "&end JUMP ";
    for f in 0..2 {
        src += &format!(":f{f} PUSH1 {} PUSH1 {} SSTORE JUMP ", f + 1, 4 + f);
    }
    src += &format!(":end PUSH1 32 PUSH2 {counter} RETURN");
    assemble(&src).expect("the generated program assembles")
}

/// A contract that calls itself (at its own address, with all gas but the 1/64th) with call
/// data `n - 1` until `n` is 0 or the call depth runs out, then returns the innermost result
/// word and whether its call succeeded. Its JUMPI's target is computed from CALLDATASIZE (the
/// call data is always one word), so compiled code dispatches it at run time and compiles
/// every JUMPDEST of `ballast`, appended after the code: the compiled frame gets as large as
/// the ballast's.
pub fn self_caller(ballast: &[u8]) -> Vec<u8> {
    let mut code = crate::assemble(
        "PUSH1 0 CALLDATALOAD DUP1 ISZERO CALLDATASIZE &done ADD PUSH1 32 SWAP1 SUB JUMPI \
         PUSH1 1 SWAP1 SUB PUSH1 0 MSTORE \
         PUSH1 32 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 ADDRESS GAS CALL \
         PUSH1 32 MSTORE PUSH1 64 PUSH1 0 RETURN \
         :done PUSH1 0xdd PUSH1 0 MSTORE PUSH1 64 PUSH1 0 RETURN",
    )
    .expect("the self-caller assembles");
    code.extend_from_slice(ballast);
    code
}

/// Call data for [`self_caller`] that recurses far past the call-depth limit (2000 levels).
pub fn self_caller_input() -> [u8; 32] {
    let mut input = [0u8; 32];
    input[30..].copy_from_slice(&2000u16.to_be_bytes());
    input
}
