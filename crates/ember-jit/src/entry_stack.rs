//! What the stack holds when each block starts: its height, and which of its items are
//! constants, found by one forward data-flow pass over the blocks before any IR is built.
//!
//! Compiled code always starts at pc 0 with an empty stack, and a block's code runs natively
//! only when control comes from another compiled block. So a block's entry stack is the meet
//! of what every block that can reach it leaves behind. The edges taken are a superset of the
//! compiled code's: a fall-through, a jump to a target the pass knows to be a constant, and
//! from any other jump an edge to every JUMPDEST (the dispatch `switch`, and every target a
//! speculation could guard). Inside a block PUSH, DUP, SWAP and POP move what is known; every
//! other instruction pops its operands and pushes results that are not known. A block that
//! would underflow or overflow leaves nothing behind: natively it never runs past its entry
//! check. Blocks reached with different heights, or from one whose height is not known, know
//! nothing.
//!
//! Code generation reads a known constant instead of loading its stack slot (then folds and
//! specialises on it), and uses a known entry height as a constant.

use ember_evm::opcodes::{self as op, immediate_size, stack_io, STACK_LIMIT};
use ember_evm::{BasicBlock, CodeAnalysis, U256};
use std::collections::{BTreeSet, HashMap};

/// The stack at a block's start, bottom first: `Some(c)` for an item known to be `c`.
pub(crate) type EntryStack = Vec<Option<U256>>;

/// What the pass knows at a block's start.
#[derive(Clone, Debug, PartialEq)]
enum Known {
    /// No compiled block reaches it (yet).
    Unreached,
    /// The height and the constants.
    Stack(EntryStack),
    /// Nothing.
    Nothing,
}

impl Known {
    /// The meet of `self` and `other`; whether `self` changed.
    fn meet(&mut self, other: &Known) -> bool {
        let next = match (&*self, other) {
            (_, Known::Unreached) => return false,
            (Known::Unreached, o) => o.clone(),
            (Known::Nothing, _) | (_, Known::Nothing) => Known::Nothing,
            (Known::Stack(a), Known::Stack(b)) if a.len() != b.len() => Known::Nothing,
            (Known::Stack(a), Known::Stack(b)) => Known::Stack(
                a.iter()
                    .zip(b)
                    .map(|(x, y)| if x == y { *x } else { None })
                    .collect(),
            ),
        };
        let changed = next != *self;
        *self = next;
        changed
    }
}

/// The entry stacks of the blocks reachable from pc 0, by start pc (blocks whose entry is not
/// known are absent).
pub(crate) fn entry_stacks(
    analysis: &CodeAnalysis,
    blocks: &[BasicBlock],
) -> HashMap<usize, EntryStack> {
    let index: HashMap<usize, usize> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.start, i))
        .collect();
    let jumpdests: Vec<usize> = blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| analysis.is_jumpdest(b.start))
        .map(|(i, _)| i)
        .collect();
    let mut known = vec![Known::Unreached; blocks.len()];
    let mut work = BTreeSet::new();
    if let Some(&first) = index.get(&0) {
        known[first] = Known::Stack(Vec::new());
        work.insert(first);
    }
    while let Some(i) = work.pop_first() {
        let (exit, ends) = run_block(analysis, &blocks[i], &known[i]);
        let mut flow = |to: usize, work: &mut BTreeSet<usize>| {
            if known[to].meet(&exit) {
                work.insert(to);
            }
        };
        for end in ends {
            match end {
                Edge::To(pc) => {
                    if let Some(&to) = index.get(&pc) {
                        flow(to, &mut work);
                    }
                }
                Edge::AnyJumpdest => {
                    for &to in &jumpdests {
                        flow(to, &mut work);
                    }
                }
            }
        }
    }
    blocks
        .iter()
        .zip(known)
        .filter_map(|(b, k)| match k {
            Known::Stack(s) => Some((b.start, s)),
            _ => None,
        })
        .collect()
}

/// Where control may go when a block ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edge {
    To(usize),
    AnyJumpdest,
}

/// Runs `block` from `entry`: what it leaves behind and where control may go next.
fn run_block(analysis: &CodeAnalysis, block: &BasicBlock, entry: &Known) -> (Known, Vec<Edge>) {
    let code = analysis.padded_code();
    let mut stack = match entry {
        Known::Stack(s) => Some(s.clone()),
        _ => None,
    };
    let mut target = None;
    let mut pc = block.start;
    let mut last = op::STOP;
    while pc < block.end {
        let opc = code[pc];
        last = opc;
        if let Some(s) = stack.as_mut() {
            if opc == op::JUMP || opc == op::JUMPI {
                target = s.last().copied().flatten();
            }
            if !step(s, opc, &code[pc + 1..pc + 1 + immediate_size(opc)]) {
                // The block fails on its stack: natively it never gets past its entry check.
                return (Known::Unreached, Vec::new());
            }
        }
        pc += 1 + immediate_size(opc);
    }
    let exit = stack.map_or(Known::Nothing, Known::Stack);
    let jump_edge = |target: Option<U256>| match target {
        Some(t) => match usize::try_from(t) {
            Ok(t) if analysis.is_jumpdest(t) => vec![Edge::To(t)],
            // A constant bad target fails there.
            _ => Vec::new(),
        },
        None => vec![Edge::AnyJumpdest],
    };
    let mut edges = match last {
        op::JUMP | op::JUMPI => jump_edge(target),
        _ => Vec::new(),
    };
    if !block.terminates && block.end < analysis.code().len() {
        edges.push(Edge::To(block.end));
    }
    (exit, edges)
}

/// One instruction on the known stack; false if it underflows or overflows.
fn step(s: &mut EntryStack, opc: u8, immediate: &[u8]) -> bool {
    match opc {
        op::PUSH0..=op::PUSH32 => {
            let mut word = [0u8; 32];
            word[32 - immediate.len()..].copy_from_slice(immediate);
            s.push(Some(U256::from_be_bytes(word)));
        }
        op::DUP1..=op::DUP16 => {
            let n = usize::from(opc - op::DUP1) + 1;
            let Some(&v) = s.len().checked_sub(n).and_then(|i| s.get(i)) else {
                return false;
            };
            s.push(v);
        }
        op::SWAP1..=op::SWAP16 => {
            let n = usize::from(opc - op::SWAP1) + 1;
            let top = s.len().wrapping_sub(1);
            if s.len() <= n {
                return false;
            }
            s.swap(top, top - n);
        }
        _ => {
            let (pops, pushes) = stack_io(opc);
            let Some(rest) = s.len().checked_sub(pops as usize) else {
                return false;
            };
            s.truncate(rest);
            s.extend(std::iter::repeat_n(None, pushes as usize));
        }
    }
    s.len() <= STACK_LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::Revision;
    use ember_testkit::assemble;

    fn stacks(src: &str) -> HashMap<usize, EntryStack> {
        let a = CodeAnalysis::new(&assemble(src).unwrap());
        entry_stacks(&a, &a.basic_blocks(Revision::Cancun))
    }

    fn c(n: u64) -> Option<U256> {
        Some(U256::from(n))
    }

    #[test]
    fn constants_kept_below_a_loop_are_known_at_its_head() {
        // PUSH1 7 PUSH1 3 then a loop counting the 3 down; the 7 stays below it.
        let s = stacks("PUSH1 7 PUSH1 3 :loop PUSH1 1 SWAP1 SUB DUP1 &loop JUMPI STOP");
        assert_eq!(s[&0], vec![]);
        // At the loop's head: the 7, and a counter that differs between the two ways in.
        assert_eq!(s[&4], vec![c(7), None]);
        // After the JUMPI (`&loop` is a PUSH2): the same.
        assert_eq!(s[&14], vec![c(7), None]);
    }

    #[test]
    fn a_dynamic_jump_reaches_every_jumpdest_with_what_it_leaves() {
        // The target comes from call data: both JUMPDESTs may follow, each with the 5.
        let s = stacks("PUSH1 5 PUSH1 0 CALLDATALOAD JUMP :a STOP :b STOP");
        assert_eq!((s[&6].clone(), s[&8].clone()), (vec![c(5)], vec![c(5)]));
    }

    #[test]
    fn different_heights_meet_to_nothing_and_unreached_blocks_are_absent() {
        // :m is reached with one item (fall-through) and with two (the jump).
        let s = stacks("PUSH1 1 PUSH1 0 CALLDATALOAD &m JUMPI PUSH1 2 :m STOP :dead STOP");
        assert_eq!(s.get(&11), None, "two heights");
        assert_eq!(s[&9], vec![c(1)]);
        assert_eq!(s.get(&13), None, "no dynamic jump: unreached");
        let s = stacks("PUSH1 1 &end JUMP :dead PUSH1 9 STOP :end STOP");
        assert_eq!(s.get(&6), None, "unreached");
        assert_eq!(s[&10], vec![c(1)]);
    }

    #[test]
    fn a_block_that_underflows_leaves_nothing_behind() {
        // The block at 2 pops two items from one: natively it exits at its entry check, so
        // nothing reaches :after.
        let s = stacks("PUSH1 4 :u ADD &after JUMP :after STOP");
        assert_eq!(s[&2], vec![c(4)]);
        assert_eq!(s.get(&8), None);
    }
}
