//! Opcode numbers, names, stack effects and the per-revision static gas table: the one source
//! of truth for both the interpreter and the compiler.

use crate::revision::{Revision, ALL_REVISIONS};

/// The deepest the EVM stack may grow.
pub const STACK_LIMIT: usize = 1024;

macro_rules! opcodes {
    ($($name:ident = $val:expr),* $(,)?) => {
        $(#[allow(missing_docs)] pub const $name: u8 = $val;)*
        const NAMES: [Option<&str>; 256] = {
            let mut n: [Option<&str>; 256] = [None; 256];
            $(n[$val as usize] = Some(stringify!($name));)*
            n
        };
    };
}

opcodes! {
    STOP = 0x00, ADD = 0x01, MUL = 0x02, SUB = 0x03, DIV = 0x04, SDIV = 0x05, MOD = 0x06,
    SMOD = 0x07, ADDMOD = 0x08, MULMOD = 0x09, EXP = 0x0a, SIGNEXTEND = 0x0b,
    LT = 0x10, GT = 0x11, SLT = 0x12, SGT = 0x13, EQ = 0x14, ISZERO = 0x15, AND = 0x16,
    OR = 0x17, XOR = 0x18, NOT = 0x19, BYTE = 0x1a, SHL = 0x1b, SHR = 0x1c, SAR = 0x1d,
    CLZ = 0x1e,
    KECCAK256 = 0x20,
    ADDRESS = 0x30, BALANCE = 0x31, ORIGIN = 0x32, CALLER = 0x33, CALLVALUE = 0x34,
    CALLDATALOAD = 0x35, CALLDATASIZE = 0x36, CALLDATACOPY = 0x37, CODESIZE = 0x38,
    CODECOPY = 0x39, GASPRICE = 0x3a, EXTCODESIZE = 0x3b, EXTCODECOPY = 0x3c,
    RETURNDATASIZE = 0x3d, RETURNDATACOPY = 0x3e, EXTCODEHASH = 0x3f,
    BLOCKHASH = 0x40, COINBASE = 0x41, TIMESTAMP = 0x42, NUMBER = 0x43, PREVRANDAO = 0x44,
    GASLIMIT = 0x45, CHAINID = 0x46, SELFBALANCE = 0x47, BASEFEE = 0x48, BLOBHASH = 0x49,
    BLOBBASEFEE = 0x4a,
    POP = 0x50, MLOAD = 0x51, MSTORE = 0x52, MSTORE8 = 0x53, SLOAD = 0x54, SSTORE = 0x55,
    JUMP = 0x56, JUMPI = 0x57, PC = 0x58, MSIZE = 0x59, GAS = 0x5a, JUMPDEST = 0x5b,
    TLOAD = 0x5c, TSTORE = 0x5d, MCOPY = 0x5e, PUSH0 = 0x5f,
    PUSH1 = 0x60, PUSH2 = 0x61, PUSH3 = 0x62, PUSH4 = 0x63, PUSH5 = 0x64, PUSH6 = 0x65,
    PUSH7 = 0x66, PUSH8 = 0x67, PUSH9 = 0x68, PUSH10 = 0x69, PUSH11 = 0x6a, PUSH12 = 0x6b,
    PUSH13 = 0x6c, PUSH14 = 0x6d, PUSH15 = 0x6e, PUSH16 = 0x6f, PUSH17 = 0x70, PUSH18 = 0x71,
    PUSH19 = 0x72, PUSH20 = 0x73, PUSH21 = 0x74, PUSH22 = 0x75, PUSH23 = 0x76, PUSH24 = 0x77,
    PUSH25 = 0x78, PUSH26 = 0x79, PUSH27 = 0x7a, PUSH28 = 0x7b, PUSH29 = 0x7c, PUSH30 = 0x7d,
    PUSH31 = 0x7e, PUSH32 = 0x7f,
    DUP1 = 0x80, DUP2 = 0x81, DUP3 = 0x82, DUP4 = 0x83, DUP5 = 0x84, DUP6 = 0x85, DUP7 = 0x86,
    DUP8 = 0x87, DUP9 = 0x88, DUP10 = 0x89, DUP11 = 0x8a, DUP12 = 0x8b, DUP13 = 0x8c,
    DUP14 = 0x8d, DUP15 = 0x8e, DUP16 = 0x8f,
    SWAP1 = 0x90, SWAP2 = 0x91, SWAP3 = 0x92, SWAP4 = 0x93, SWAP5 = 0x94, SWAP6 = 0x95,
    SWAP7 = 0x96, SWAP8 = 0x97, SWAP9 = 0x98, SWAP10 = 0x99, SWAP11 = 0x9a, SWAP12 = 0x9b,
    SWAP13 = 0x9c, SWAP14 = 0x9d, SWAP15 = 0x9e, SWAP16 = 0x9f,
    LOG0 = 0xa0, LOG1 = 0xa1, LOG2 = 0xa2, LOG3 = 0xa3, LOG4 = 0xa4,
    CREATE = 0xf0, CALL = 0xf1, CALLCODE = 0xf2, RETURN = 0xf3, DELEGATECALL = 0xf4,
    CREATE2 = 0xf5, STATICCALL = 0xfa, REVERT = 0xfd, INVALID = 0xfe, SELFDESTRUCT = 0xff,
}

/// The mnemonic of an opcode, or `None` if no revision defines it.
pub fn name(op: u8) -> Option<&'static str> {
    NAMES[op as usize]
}

/// The mnemonic, or `UNDEFINED(0x..)`-style text for traces.
pub fn display_name(op: u8) -> String {
    match name(op) {
        Some(n) => n.to_string(),
        None => format!("opcode 0x{op:02x} not defined"),
    }
}

/// How many bytes of immediate data follow the opcode (PUSH1..PUSH32).
#[inline]
pub const fn immediate_size(op: u8) -> usize {
    if op >= PUSH1 && op <= PUSH32 {
        (op - PUSH1 + 1) as usize
    } else {
        0
    }
}

/// Whether the opcode ends the interpreter's gas segment (see `analysis::Segment`): it
/// jumps or halts, reads the gas left (GAS, SSTORE's stipend check, calls and creates), or can
/// fail other than by running out of gas (RETURNDATACOPY past the data; LOG, SSTORE, TSTORE
/// and value calls in a static frame). Every other defined opcode, once its stack and static
/// gas are assured, either cannot fail or fails only out of gas.
pub const fn ends_segment(op: u8) -> bool {
    matches!(
        op,
        STOP | JUMP
            | JUMPI
            | GAS
            | RETURNDATACOPY
            | SSTORE
            | TSTORE
            | LOG0
            | LOG1
            | LOG2
            | LOG3
            | LOG4
            | CREATE
            | CALL
            | CALLCODE
            | RETURN
            | DELEGATECALL
            | CREATE2
            | STATICCALL
            | REVERT
            | INVALID
            | SELFDESTRUCT
    )
}

/// (items popped, items pushed) for every opcode, whatever its revision.
pub const fn stack_io(op: u8) -> (u8, u8) {
    match op {
        STOP | JUMPDEST | INVALID => (0, 0),
        ADD | MUL | SUB | DIV | SDIV | MOD | SMOD | EXP | SIGNEXTEND | LT | GT | SLT | SGT | EQ
        | AND | OR | XOR | BYTE | SHL | SHR | SAR | KECCAK256 => (2, 1),
        ADDMOD | MULMOD => (3, 1),
        ISZERO | NOT | CLZ | BALANCE | CALLDATALOAD | EXTCODESIZE | EXTCODEHASH | BLOCKHASH
        | BLOBHASH | MLOAD | SLOAD | TLOAD => (1, 1),
        ADDRESS | ORIGIN | CALLER | CALLVALUE | CALLDATASIZE | CODESIZE | GASPRICE
        | RETURNDATASIZE | COINBASE | TIMESTAMP | NUMBER | PREVRANDAO | GASLIMIT | CHAINID
        | SELFBALANCE | BASEFEE | BLOBBASEFEE | PC | MSIZE | GAS | PUSH0 => (0, 1),
        CALLDATACOPY | CODECOPY | RETURNDATACOPY | MCOPY => (3, 0),
        EXTCODECOPY => (4, 0),
        POP | JUMP | SELFDESTRUCT => (1, 0),
        MSTORE | MSTORE8 | SSTORE | JUMPI | TSTORE | RETURN | REVERT => (2, 0),
        PUSH1..=PUSH32 => (0, 1),
        DUP1..=DUP16 => (op - DUP1 + 1, op - DUP1 + 2),
        SWAP1..=SWAP16 => (op - SWAP1 + 2, op - SWAP1 + 2),
        LOG0..=LOG4 => (op - LOG0 + 2, 0),
        CREATE => (3, 1),
        CREATE2 => (4, 1),
        CALL | CALLCODE => (7, 1),
        DELEGATECALL | STATICCALL => (6, 1),
        _ => (0, 0),
    }
}

/// The first revision that defines `op`, or `None` if none does.
pub const fn since(op: u8) -> Option<Revision> {
    use Revision::*;
    let r = match op {
        DELEGATECALL => Homestead,
        RETURNDATASIZE | RETURNDATACOPY | STATICCALL | REVERT => Byzantium,
        SHL | SHR | SAR | EXTCODEHASH | CREATE2 => Constantinople,
        CHAINID | SELFBALANCE => Istanbul,
        BASEFEE => London,
        PUSH0 => Shanghai,
        BLOBHASH | BLOBBASEFEE | TLOAD | TSTORE | MCOPY => Cancun,
        CLZ => Osaka,
        0x0c..=0x0f
        | 0x1f
        | 0x21..=0x2f
        | 0x4b..=0x4f
        | 0xa5..=0xef
        | 0xf6..=0xf9
        | 0xfb
        | 0xfc => return None,
        _ => Frontier,
    };
    Some(r)
}

/// The gas every execution of `op` costs at `rev` before any dynamic part, or `None` when
/// `op` is undefined at `rev`. Dynamic parts (memory, copies, cold access, calls, SSTORE) are
/// charged by the instruction itself.
pub const fn static_gas(op: u8, rev: Revision) -> Option<i64> {
    use Revision::*;
    match since(op) {
        Some(s) if (s as u8) <= (rev as u8) => {}
        _ => return None,
    }
    let r = rev as u8;
    let tw = r >= TangerineWhistle as u8;
    let berlin = r >= Berlin as u8;
    let istanbul = r >= Istanbul as u8;
    let g = match op {
        STOP | RETURN | REVERT | INVALID | SSTORE => 0,
        JUMPDEST => 1,
        ADDRESS | ORIGIN | CALLER | CALLVALUE | CALLDATASIZE | CODESIZE | GASPRICE
        | RETURNDATASIZE | COINBASE | TIMESTAMP | NUMBER | PREVRANDAO | GASLIMIT | CHAINID
        | BASEFEE | BLOBBASEFEE | POP | PC | MSIZE | GAS | PUSH0 => 2,
        ADD | SUB | LT | GT | SLT | SGT | EQ | ISZERO | AND | OR | XOR | NOT | BYTE | SHL | SHR
        | SAR | CALLDATALOAD | CALLDATACOPY | CODECOPY | RETURNDATACOPY | MLOAD | MSTORE
        | MSTORE8 | MCOPY | BLOBHASH => 3,
        PUSH1..=PUSH32 | DUP1..=DUP16 | SWAP1..=SWAP16 => 3,
        MUL | DIV | SDIV | MOD | SMOD | SIGNEXTEND | SELFBALANCE | CLZ => 5,
        ADDMOD | MULMOD | JUMP => 8,
        EXP | JUMPI => 10,
        BLOCKHASH => 20,
        KECCAK256 => 30,
        TLOAD | TSTORE => 100,
        LOG0..=LOG4 => 375 * (1 + (op - LOG0) as i64),
        CREATE | CREATE2 => 32000,
        BALANCE => {
            if berlin {
                100
            } else if istanbul {
                700
            } else if tw {
                400
            } else {
                20
            }
        }
        EXTCODESIZE | EXTCODECOPY => {
            if berlin {
                100
            } else if tw {
                700
            } else {
                20
            }
        }
        EXTCODEHASH => {
            if berlin {
                100
            } else if istanbul {
                700
            } else {
                400
            }
        }
        SLOAD => {
            if berlin {
                100
            } else if istanbul {
                800
            } else if tw {
                200
            } else {
                50
            }
        }
        CALL | CALLCODE | DELEGATECALL => {
            if berlin {
                100
            } else if tw {
                700
            } else {
                40
            }
        }
        STATICCALL => {
            if berlin {
                100
            } else {
                700
            }
        }
        SELFDESTRUCT => {
            if tw {
                5000
            } else {
                0
            }
        }
        _ => return None,
    };
    Some(g)
}

/// Everything the interpreter checks before running one instruction, packed for one load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    /// Static gas, or -1 when the opcode is undefined at this revision.
    pub gas: i32,
    /// Stack items required; 255 for undefined opcodes so the stack check routes them to the
    /// slow path.
    pub min_stack: u8,
    /// The largest stack height at which the instruction cannot overflow.
    pub max_stack: u16,
}

/// One revision's instruction table.
pub type OpTable = [OpInfo; 256];

const fn build_table(rev: Revision) -> OpTable {
    let mut t = [OpInfo {
        gas: -1,
        min_stack: 255,
        max_stack: 0,
    }; 256];
    let mut i = 0;
    while i < 256 {
        let op = i as u8;
        if let Some(g) = static_gas(op, rev) {
            let (pop, push) = stack_io(op);
            let growth = if push > pop { (push - pop) as usize } else { 0 };
            t[i] = OpInfo {
                gas: g as i32,
                min_stack: pop,
                max_stack: (STACK_LIMIT - growth) as u16,
            };
        }
        i += 1;
    }
    t
}

const fn build_all() -> [OpTable; 15] {
    let mut all = [[OpInfo {
        gas: -1,
        min_stack: 255,
        max_stack: 0,
    }; 256]; 15];
    let mut r = 0;
    while r < 15 {
        all[r] = build_table(ALL_REVISIONS[r]);
        r += 1;
    }
    all
}

static TABLES: [OpTable; 15] = build_all();

/// The instruction table of a revision.
#[inline]
pub fn op_table(rev: Revision) -> &'static OpTable {
    &TABLES[rev as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Revision::*;

    #[test]
    fn undefined_opcodes_per_revision() {
        assert_eq!(static_gas(PUSH0, Paris), None);
        assert_eq!(static_gas(PUSH0, Shanghai), Some(2));
        assert_eq!(static_gas(DELEGATECALL, Frontier), None);
        assert_eq!(static_gas(DELEGATECALL, Homestead), Some(40));
        assert_eq!(static_gas(CLZ, Prague), None);
        assert_eq!(static_gas(CLZ, Osaka), Some(5));
        assert_eq!(static_gas(MCOPY, Shanghai), None);
        assert_eq!(static_gas(0x0c, Osaka), None);
        assert_eq!(static_gas(0xef, Osaka), None);
        assert_eq!(static_gas(INVALID, Frontier), Some(0));
        assert_eq!(op_table(Paris)[PUSH0 as usize].gas, -1);
    }

    #[test]
    fn repriced_opcodes_follow_their_eips() {
        // EIP-150, EIP-1884, EIP-2929.
        assert_eq!(static_gas(SLOAD, Frontier), Some(50));
        assert_eq!(static_gas(SLOAD, TangerineWhistle), Some(200));
        assert_eq!(static_gas(SLOAD, Istanbul), Some(800));
        assert_eq!(static_gas(SLOAD, Berlin), Some(100));
        assert_eq!(static_gas(BALANCE, Byzantium), Some(400));
        assert_eq!(static_gas(BALANCE, Istanbul), Some(700));
        assert_eq!(static_gas(EXTCODEHASH, Constantinople), Some(400));
        assert_eq!(static_gas(CALL, Homestead), Some(40));
        assert_eq!(static_gas(CALL, TangerineWhistle), Some(700));
        assert_eq!(static_gas(SELFDESTRUCT, Frontier), Some(0));
        assert_eq!(static_gas(SELFDESTRUCT, TangerineWhistle), Some(5000));
        assert_eq!(static_gas(LOG4, Frontier), Some(1875));
    }

    #[test]
    fn stack_bounds_in_table() {
        let t = op_table(Cancun);
        assert_eq!(t[DUP16 as usize].min_stack, 16);
        assert_eq!(t[DUP16 as usize].max_stack, 1023);
        assert_eq!(t[SWAP16 as usize].min_stack, 17);
        assert_eq!(t[SWAP16 as usize].max_stack, 1024);
        assert_eq!(t[CALL as usize].min_stack, 7);
        assert_eq!(t[0xef].min_stack, 255);
        for op in 0..=255u8 {
            assert_eq!(name(op).is_some(), since(op).is_some(), "op {op:#x}");
        }
    }
}
