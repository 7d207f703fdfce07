//! Code analysis, done once per code and cached by the caller: padded code, the jumpdest
//! bitmap, the interpreter's gas segments (per revision, made on first use), and basic
//! blocks with their static gas and stack bounds (shared with the JIT).

use crate::opcodes::{self, op_table, STACK_LIMIT};
use crate::revision::{Revision, ALL_REVISIONS};
use crate::U256;
use std::sync::OnceLock;

/// Zero bytes after the code: PUSH32 at the last byte reads 32 of them, and the pc then
/// lands on one more, which executes as STOP.
const PADDING: usize = 33;

/// The analysed form of one contract's code.
#[derive(Clone, Debug)]
pub struct CodeAnalysis {
    padded: Box<[u8]>,
    len: usize,
    jumpdests: Box<[u64]>,
    /// The gas segments of each revision, made when the interpreter first runs the code at
    /// that revision.
    segments: [OnceLock<Segments>; ALL_REVISIONS.len()],
}

impl CodeAnalysis {
    /// Analyses `code`: one linear pass that skips PUSH immediates.
    pub fn new(code: &[u8]) -> Self {
        let len = code.len();
        let mut padded = vec![0u8; len + PADDING].into_boxed_slice();
        padded[..len].copy_from_slice(code);
        let mut jumpdests = vec![0u64; len.div_ceil(64)].into_boxed_slice();
        let mut pc = 0;
        while pc < len {
            let op = code[pc];
            if op == opcodes::JUMPDEST {
                jumpdests[pc / 64] |= 1 << (pc % 64);
            }
            pc += 1 + opcodes::immediate_size(op);
        }
        CodeAnalysis {
            padded,
            len,
            jumpdests,
            segments: Default::default(),
        }
    }

    /// The code's gas segments at `rev` (see [`Segments`]), made on the first call for `rev`.
    #[inline]
    pub fn segments(&self, rev: Revision) -> &Segments {
        self.segments[rev as usize].get_or_init(|| Segments::new(self.code(), rev))
    }

    /// The original code, without padding.
    #[inline]
    pub fn code(&self) -> &[u8] {
        &self.padded[..self.len]
    }

    /// The code followed by at least 33 zero bytes.
    #[inline]
    pub fn padded_code(&self) -> &[u8] {
        &self.padded
    }

    /// Whether `pc` holds a JUMPDEST instruction (not PUSH data).
    #[inline]
    pub fn is_jumpdest(&self, pc: usize) -> bool {
        // SAFETY: `jumpdests` has `len.div_ceil(64)` words (set in `new`, never resized), so
        // `pc < len` puts `pc / 64` inside it.
        pc < self.len && unsafe { *self.jumpdests.get_unchecked(pc / 64) } & (1 << (pc % 64)) != 0
    }

    /// Where a jump to `dest` lands: `dest` itself if it is a JUMPDEST, `None` for a bad
    /// destination. The one rule for jump targets, shared with the compiler.
    #[inline(always)]
    pub fn jump_destination(&self, dest: &U256) -> Option<usize> {
        let l = dest.as_limbs();
        (l[1] | l[2] | l[3] == 0 && self.is_jumpdest(l[0] as usize)).then_some(l[0] as usize)
    }

    /// Splits the code into basic blocks for `rev`: a block starts at pc 0, at every JUMPDEST
    /// and after every instruction that ends control flow (JUMP, JUMPI, STOP, RETURN, REVERT,
    /// INVALID, SELFDESTRUCT, or an opcode undefined at `rev`).
    pub fn basic_blocks(&self, rev: Revision) -> Vec<BasicBlock> {
        let table = op_table(rev);
        let code = self.code();
        let mut blocks = Vec::new();
        let mut cur = BlockBuilder::new(0);
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == opcodes::JUMPDEST && pc != cur.start {
                blocks.push(cur.finish(pc, false));
                cur = BlockBuilder::new(pc);
            }
            let info = table[op as usize];
            let next = pc + 1 + opcodes::immediate_size(op);
            if info.gas < 0 {
                cur.undefined = true;
                blocks.push(cur.finish(next.min(code.len()), true));
                cur = BlockBuilder::new(next);
                pc = next;
                continue;
            }
            cur.add(op, info.gas as i64);
            let ends = matches!(
                op,
                opcodes::JUMP
                    | opcodes::JUMPI
                    | opcodes::STOP
                    | opcodes::RETURN
                    | opcodes::REVERT
                    | opcodes::INVALID
                    | opcodes::SELFDESTRUCT
            );
            pc = next;
            if ends {
                blocks.push(cur.finish(pc.min(code.len()), op != opcodes::JUMPI));
                cur = BlockBuilder::new(pc);
            }
        }
        if cur.instructions > 0 || blocks.is_empty() {
            blocks.push(cur.finish(code.len(), false));
        }
        blocks
    }
}

/// What the interpreter checks once for a run of instructions instead of before each one:
/// the static gas of the run, and the stack heights at its start for which no instruction
/// in it underflows or overflows.
///
/// A segment starts at pc 0, at every JUMPDEST and after every instruction that
/// [`opcodes::ends_segment`]; it ends after such an instruction, before the next JUMPDEST or
/// at the end of the code. Inside a segment every instruction either cannot fail once its
/// stack and static gas are assured, or can fail only by running out of gas on a dynamic
/// charge (memory expansion, cold access, EXP, copies, hashing). Such a charge meets less gas
/// than instruction by instruction would (the rest of the segment's static gas is already
/// taken), but then the exact run would run out of gas later in the same segment, with no
/// other failure in between, so the outcome is the same: out of gas, all gas spent. Gas is
/// exact at the last instruction of a segment, which is where GAS, calls, SSTORE and every
/// other instruction that reads the gas or fails otherwise sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Static gas of the segment's instructions.
    pub gas: u32,
    /// The fewest stack items on entry for which no instruction underflows; `u16::MAX` for
    /// a segment that can never run unchecked (it holds an opcode undefined at the revision,
    /// or no stack height lets all its instructions run).
    pub min_len: u16,
    /// How many items beyond `min_len` the stack may hold on entry with no instruction
    /// overflowing: the admitted heights are `min_len ..= min_len + len_span`, tested with
    /// one unsigned comparison.
    pub len_span: u16,
}

impl Segment {
    /// An empty segment: nothing to charge, any stack admitted.
    pub const EMPTY: Segment = Segment {
        gas: 0,
        min_len: 0,
        len_span: STACK_LIMIT as u16,
    };

    /// A segment the interpreter must run instruction by instruction.
    const CHECKED: Segment = Segment {
        gas: 0,
        min_len: u16::MAX,
        len_span: 0,
    };

    /// Whether the segment can run without per-instruction checks from a stack of `len`
    /// items with `gas` left.
    #[inline(always)]
    pub fn admits(self, len: usize, gas: i64) -> bool {
        // Below `min_len` the difference wraps to more than any span; `len` is at most
        // STACK_LIMIT, so for `min_len == u16::MAX` it always does.
        len.wrapping_sub(self.min_len as usize) <= self.len_span as usize && gas >= self.gas as i64
    }
}

/// The gas segments of one code at one revision, found by where they start: the segment
/// starting at a JUMPDEST is stored at the JUMPDEST's pc; the segment starting after an
/// instruction that ends one is stored at that instruction's pc (empty when a JUMPDEST
/// follows, which opens its own); the segment at pc 0 is `entry` (empty when the code starts
/// with a JUMPDEST).
#[derive(Clone, Debug)]
pub struct Segments {
    /// The segment starting at pc 0.
    pub entry: Segment,
    /// Per pc of the code: see the type's description; other pcs hold [`Segment::EMPTY`].
    at: Box<[Segment]>,
}

impl Segments {
    /// Splits `code` into segments at `rev`.
    pub fn new(code: &[u8], rev: Revision) -> Self {
        let table = op_table(rev);
        let mut at = vec![Segment::EMPTY; code.len()].into_boxed_slice();
        let mut entry = Segment::EMPTY;
        // Where the open segment goes: `None` for the entry.
        let mut slot = None;
        let mut open = BlockBuilder::new(0);
        let mut close = |slot: Option<usize>, b: &BlockBuilder| {
            let seg = b.segment();
            match slot {
                None => entry = seg,
                Some(pc) => at[pc] = seg,
            }
        };
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == opcodes::JUMPDEST {
                close(slot, &open);
                slot = Some(pc);
                open = BlockBuilder::new(pc);
            }
            let info = table[op as usize];
            if info.gas < 0 {
                open.undefined = true;
            } else {
                open.add(op, info.gas as i64);
            }
            if info.gas < 0 || opcodes::ends_segment(op) {
                close(slot, &open);
                slot = Some(pc);
                open = BlockBuilder::new(pc + 1);
            }
            pc += 1 + opcodes::immediate_size(op);
        }
        close(slot, &open);
        Segments { entry, at }
    }

    /// The segments stored by pc (see the type's description): one entry per code byte.
    #[inline]
    pub fn by_pc(&self) -> &[Segment] {
        &self.at
    }
}

/// A straight-line run of instructions entered only at its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicBlock {
    /// pc of the first instruction.
    pub start: usize,
    /// pc just past the last instruction (past its PUSH data).
    pub end: usize,
    /// Sum of the instructions' static gas.
    pub static_gas: i64,
    /// Stack items the block needs on entry.
    pub stack_required: u16,
    /// The most the stack grows above its entry height inside the block.
    pub stack_max_growth: u16,
    /// The stack height change from entry to exit.
    pub stack_change: i16,
    /// Whether control cannot fall through to the next block (JUMP, STOP, RETURN, …).
    pub terminates: bool,
    /// Whether the block ends in an opcode undefined at the revision.
    pub undefined: bool,
    /// Number of instructions.
    pub instructions: u32,
}

struct BlockBuilder {
    start: usize,
    gas: i64,
    height: i32,
    required: i32,
    max_growth: i32,
    instructions: u32,
    undefined: bool,
}

impl BlockBuilder {
    fn new(start: usize) -> Self {
        BlockBuilder {
            start,
            gas: 0,
            height: 0,
            required: 0,
            max_growth: 0,
            instructions: 0,
            undefined: false,
        }
    }

    fn add(&mut self, op: u8, gas: i64) {
        let (pop, push) = opcodes::stack_io(op);
        self.required = self.required.max(pop as i32 - self.height);
        self.height += push as i32 - pop as i32;
        self.max_growth = self.max_growth.max(self.height);
        self.gas += gas;
        self.instructions += 1;
    }

    /// The run as an interpreter segment.
    fn segment(&self) -> Segment {
        let growth = self.max_growth as usize;
        if self.undefined
            || growth > STACK_LIMIT
            || self.required as usize > STACK_LIMIT - growth
            || self.gas > u32::MAX as i64
        {
            return Segment::CHECKED;
        }
        Segment {
            gas: self.gas as u32,
            min_len: self.required as u16,
            len_span: (STACK_LIMIT - growth - self.required as usize) as u16,
        }
    }

    fn finish(self, end: usize, terminates: bool) -> BasicBlock {
        BasicBlock {
            start: self.start,
            end,
            static_gas: self.gas,
            stack_required: self.required as u16,
            stack_max_growth: self.max_growth as u16,
            stack_change: self.height as i16,
            terminates,
            undefined: self.undefined,
            instructions: self.instructions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumpdests_skip_push_data() {
        // PUSH2 0x5b5b JUMPDEST PUSH1 0x5b
        let a = CodeAnalysis::new(&[0x61, 0x5b, 0x5b, 0x5b, 0x60, 0x5b]);
        assert!(!a.is_jumpdest(1));
        assert!(!a.is_jumpdest(2));
        assert!(a.is_jumpdest(3));
        assert!(!a.is_jumpdest(5));
        assert!(!a.is_jumpdest(100));
        assert_eq!(a.padded_code().len(), 6 + 33);
    }

    #[test]
    fn jumpdest_bits_at_word_boundaries() {
        // Codes of JUMPDESTs whose lengths end inside, at and just past a 64-bit word of the
        // bitmap: every pc inside is one, every pc past the end (up to two words on) is not.
        for len in [0, 1, 63, 64, 65, 127, 128, 129] {
            let a = CodeAnalysis::new(&vec![opcodes::JUMPDEST; len]);
            for pc in 0..len + 130 {
                assert_eq!(a.is_jumpdest(pc), pc < len, "length {len}, pc {pc}");
            }
        }
    }

    #[test]
    fn jump_destinations_are_jumpdests_below_2_pow_64() {
        // PUSH2 0x5b5b JUMPDEST PUSH1 0x5b
        let a = CodeAnalysis::new(&[0x61, 0x5b, 0x5b, 0x5b, 0x60, 0x5b]);
        assert_eq!(a.jump_destination(&U256::from(3)), Some(3));
        assert_eq!(a.jump_destination(&U256::from(2)), None, "push data");
        assert_eq!(a.jump_destination(&U256::from(100)), None, "past the code");
        // The low limb alone names a JUMPDEST; the higher limbs make it a bad destination.
        let high = U256::from(3) | (U256::from(1) << 64);
        assert_eq!(a.jump_destination(&high), None);
        assert_eq!(a.jump_destination(&U256::MAX), None);
    }

    #[test]
    fn truncated_push_at_end_is_padded() {
        let a = CodeAnalysis::new(&[0x7f, 0x01]);
        assert_eq!(a.code(), &[0x7f, 0x01]);
        assert!(a.padded_code()[2..].iter().all(|&b| b == 0));
    }

    #[test]
    fn segments_admit_exactly_their_stack_heights() {
        use opcodes::{POP, PUSH0};
        // POP POP, then five PUSH0: two items needed, three more at the peak.
        let mut code = vec![POP, POP];
        code.extend([PUSH0; 5]);
        let seg = Segments::new(&code, Revision::Cancun).entry;
        let gas = seg.gas as i64;
        assert_eq!(gas, 2 * 2 + 5 * 2);
        for (len, admitted) in [
            (0, false),
            (1, false),
            (2, true),
            (1021, true),
            (1022, false),
        ] {
            assert_eq!(seg.admits(len, gas), admitted, "{len} items");
        }
        assert!(!seg.admits(2, gas - 1), "one gas short");
        // 600 POPs then 1100 PUSH0s: no height both underflows nothing and overflows nothing.
        let mut code = vec![POP; 600];
        code.extend([PUSH0; 1100]);
        let seg = Segments::new(&code, Revision::Cancun).entry;
        assert!((0..=STACK_LIMIT).all(|len| !seg.admits(len, i64::MAX)));
        // The checked segment and the empty one.
        assert!((0..=STACK_LIMIT).all(|len| !Segment::CHECKED.admits(len, i64::MAX)));
        assert!((0..=STACK_LIMIT).all(|len| Segment::EMPTY.admits(len, 0)));
    }

    #[test]
    fn blocks_have_static_gas_and_stack_bounds() {
        // 0: PUSH1 1; 2: PUSH1 2; 4: ADD; 5: PUSH1 9; 7: JUMP; 8: INVALID;
        // 9: JUMPDEST; 10: POP; 11: POP; 12: STOP
        let code = [
            0x60, 1, 0x60, 2, 0x01, 0x60, 9, 0x56, 0xfe, 0x5b, 0x50, 0x50, 0x00,
        ];
        let blocks = CodeAnalysis::new(&code).basic_blocks(Revision::Cancun);
        assert_eq!(blocks.len(), 3);
        assert_eq!((blocks[0].start, blocks[0].end), (0, 8));
        assert_eq!(blocks[0].static_gas, 3 + 3 + 3 + 3 + 8);
        assert_eq!(blocks[0].stack_required, 0);
        assert_eq!(blocks[0].stack_max_growth, 2);
        assert_eq!(blocks[0].stack_change, 1, "the sum stays on the stack");
        assert!(blocks[0].terminates);
        assert_eq!((blocks[1].start, blocks[1].end), (8, 9));
        assert_eq!((blocks[2].start, blocks[2].end), (9, 13));
        assert_eq!(blocks[2].static_gas, 1 + 2 + 2);
        assert_eq!(blocks[2].stack_required, 2);
        assert_eq!(blocks[2].stack_change, -2);
    }

    #[test]
    fn undefined_opcode_ends_block_per_revision() {
        // PUSH0 is undefined before Shanghai.
        let code = [0x5f, 0x00];
        let old = CodeAnalysis::new(&code).basic_blocks(Revision::Paris);
        assert!(old[0].undefined);
        let new = CodeAnalysis::new(&code).basic_blocks(Revision::Shanghai);
        assert!(!new[0].undefined);
        assert_eq!(new[0].static_gas, 2);
    }
}
