//! What the stack holds when each block starts, and where each computed jump can go, found by
//! one forward data-flow pass over the blocks before any IR is built.
//!
//! Compiled code always starts at pc 0 with an empty stack, and a block's code runs natively
//! only when control comes from another compiled block that ran to its end. So a block's entry
//! stack is the meet of what every block that can reach it leaves behind. The edges taken are
//! a superset of the compiled code's: a fall-through, a jump to each target the pass knows
//! the jump's operand may hold, and from any other jump an edge to every JUMPDEST (the
//! shared dispatch, and every target a speculation could guard).
//!
//! The pass knows a block's entry as its height (when every way in agrees) and the top items
//! of its stack: how many items every way in leaves at least, and for each of them a few
//! constants it may hold, or nothing. Counting from the top is what makes Solidity's internal
//! functions tractable: a function called from two places is entered at two heights, but the
//! return address sits at the same depth below its arguments on both ways in, so the `JUMP`
//! that returns is known to go to one of the two return sites and nowhere else. Without that,
//! one return jump would reach every JUMPDEST and erase what the pass knows everywhere.
//!
//! A block is followed separately in each context it is entered in: its height and the two
//! return addresses nearest the top of the stack. So a function's return carries each caller's
//! own frame back to that caller only, and the caller's return address below it stays a
//! constant (merged, two callers' frames would make it unknown, and its return would reach
//! every JUMPDEST). Code the pass cannot resolve this way (computed jumps, or more than
//! [`MAX_CONTEXTS`] contexts at a block) would make it slow for nothing: past a budget of block
//! runs it starts again with one context per block. What code generation gets is the meet of a
//! block's contexts.
//!
//! Inside a block PUSH, DUP, SWAP and POP move what is known; every other instruction pops its
//! operands and pushes results that are not known. An instruction that needs more items than
//! the pass knows of finds them anyway on the native path (the block's entry check let it run),
//! so they join the known items as unknown values. A block that would underflow or overflow a
//! known height leaves nothing behind: natively it never runs past its entry check.
//!
//! Code generation reads a constant instead of loading its stack slot (then folds and
//! specialises on it), uses a known entry height as a constant, drops the entry checks the
//! known items and height prove, and compiles a jump with a few proven targets as compares
//! against them.

use ember_evm::opcodes::{self as op, immediate_size, stack_io, STACK_LIMIT};
use ember_evm::{BasicBlock, CodeAnalysis, U256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// The most constants the pass keeps for one stack item; past it the item is not known.
/// Sixteen keeps the return sites of a helper called from many places.
const MAX_VALUES: usize = 16;

/// The constants a stack item may hold (sorted, distinct, at most [`MAX_VALUES`]), or `None`
/// for any value.
type Values = Option<Vec<U256>>;

/// What the compiler may rely on at a block's start.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct EntryStack {
    /// The stack height, when every way in has the same.
    pub height: Option<usize>,
    /// The top items every way in leaves, bottom first: `Some(c)` for an item known to be `c`.
    /// With a known height this is the whole stack.
    pub top: Rc<[Option<U256>]>,
}

/// What the pass proved about the code.
#[derive(Debug, Default)]
pub(crate) struct Proven {
    /// The entry of every block reachable from pc 0, by start pc.
    pub entries: HashMap<usize, EntryStack>,
    /// For each JUMP or JUMPI whose operand is one of a few constants, the ones that are
    /// JUMPDESTs (in increasing order), by the jump's pc. Any other value is a bad jump.
    pub targets: HashMap<usize, Vec<usize>>,
}

/// The stack as the pass knows it at one point: its height, if known, and the items known to
/// be there, top last (with a known height, all of them).
#[derive(Clone, Debug, PartialEq)]
struct Stack {
    height: Option<usize>,
    top: Vec<Values>,
}

/// The union of two items' values.
fn union(a: &Values, b: &Values) -> Values {
    let (a, b) = (a.as_ref()?, b.as_ref()?);
    let mut all: Vec<U256> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    all.dedup();
    (all.len() <= MAX_VALUES).then_some(all)
}

/// Which context of a block a way in joins: its height and its nearest return addresses (the
/// [`RETURN_DEPTH`] items nearest the top that are one JUMPDEST: where each is, from the
/// bottom, and its value), or `None` for the one context of ways in whose height is not known.
type Key = Option<(usize, Vec<(usize, usize)>)>;

/// How many return addresses, from the top, tell contexts apart. One keeps a callee's return
/// exact; two also keeps its caller's, which Solidity's nested internal calls need (with one,
/// swap_math kept 2 of its 161 blocks' heights; with two, 79).
const RETURN_DEPTH: usize = 2;

/// The context `s` belongs to.
fn context_key(analysis: &CodeAnalysis, s: &Stack) -> Key {
    let mut returns: Vec<(usize, usize)> = s
        .top
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, v)| match v.as_deref() {
            Some([c]) => analysis.jump_destination(c).map(|t| (i, t)),
            _ => None,
        })
        .take(RETURN_DEPTH)
        .collect();
    returns.reverse();
    Some((s.height?, returns))
}

/// What the pass knows at a block's start: one stack per context. A function's body is
/// followed once per height and call string (the nearest return addresses on the stack), so
/// its return jump in each goes back only to the caller that pushed the address, with that
/// caller's frame.
#[derive(Clone, Debug, Default)]
struct Contexts {
    stacks: BTreeMap<Key, Stack>,
    /// Contexts changed since the block last ran from them.
    dirty: BTreeSet<Key>,
}

/// The most contexts a block is followed in; past it a new way in joins a context of its
/// height, or the one of unknown height. swap_math needs 32.
const MAX_CONTEXTS: usize = 32;

/// Block runs the pass may make per block before it gives up on contexts: code whose
/// computed jumps it cannot resolve reaches every JUMPDEST in many contexts, which buys
/// nothing and costs time. It then starts again with one context per block.
const RUNS_PER_BLOCK: usize = 8;

impl Contexts {
    /// Adds a way in; whether anything changed.
    fn add(&mut self, analysis: &CodeAnalysis, way: &Stack, max: usize) -> bool {
        let mut key = context_key(analysis, way);
        if key.is_some() && !self.stacks.contains_key(&key) && self.stacks.len() >= max {
            key = self
                .stacks
                .keys()
                .find(|k| k.as_ref().map(|k| k.0) == way.height)
                .cloned()
                .unwrap_or(None);
        }
        let changed = match self.stacks.get_mut(&key) {
            Some(s) => {
                let next = s.meet(way);
                let changed = next != *s;
                *s = next;
                changed
            }
            None => {
                self.stacks.insert(key.clone(), way.clone());
                true
            }
        };
        if changed {
            self.dirty.insert(key);
        }
        changed
    }

    /// What holds in every context, if any way in was seen.
    fn meet(&self) -> Option<Stack> {
        self.stacks.values().fold(None, |acc, s| {
            Some(acc.map_or_else(|| s.clone(), |a: Stack| a.meet(s)))
        })
    }
}

/// The entries of the blocks reachable from pc 0 and the proven targets of their jumps.
pub(crate) fn prove(analysis: &CodeAnalysis, blocks: &[BasicBlock]) -> Proven {
    let budget = RUNS_PER_BLOCK.saturating_mul(blocks.len());
    prove_within(analysis, blocks, MAX_CONTEXTS, budget)
        .or_else(|| prove_within(analysis, blocks, 1, usize::MAX))
        .expect("without a budget the pass always finishes")
}

/// The pass with at most `max_contexts` per block; `None` if it needs more than `budget`
/// block runs.
fn prove_within(
    analysis: &CodeAnalysis,
    blocks: &[BasicBlock],
    max_contexts: usize,
    budget: usize,
) -> Option<Proven> {
    let mut runs = 0usize;
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
    let mut known = vec![Contexts::default(); blocks.len()];
    // The union of each jump's operand over every run of its block (every context only
    // widens, so this is the union over the final contexts, or wider).
    let mut operands: HashMap<usize, Values> = HashMap::new();
    let mut work = BTreeSet::new();
    if let Some(&first) = index.get(&0) {
        known[first].add(
            analysis,
            &Stack {
                height: Some(0),
                top: Vec::new(),
            },
            max_contexts,
        );
        work.insert(first);
    }
    while let Some(i) = work.pop_first() {
        let dirty = std::mem::take(&mut known[i].dirty);
        let entries: Vec<Stack> = dirty
            .iter()
            .filter_map(|k| known[i].stacks.get(k).cloned())
            .collect();
        for entry in entries {
            runs += 1;
            if runs > budget {
                return None;
            }
            let Some(run) = run_block(analysis, &blocks[i], entry) else {
                continue;
            };
            if let Some((pc, operand)) = run.jump {
                operands
                    .entry(pc)
                    .and_modify(|v| *v = union(v, &operand))
                    .or_insert(operand);
            }
            let mut flow = |to: usize, work: &mut BTreeSet<usize>| {
                if known[to].add(analysis, &run.exit, max_contexts) {
                    work.insert(to);
                }
            };
            for edge in run.edges {
                match edge {
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
    }
    let entries = blocks
        .iter()
        .zip(&known)
        .filter_map(|(b, k)| {
            let s = k.meet()?;
            Some((
                b.start,
                EntryStack {
                    height: s.height,
                    top: s.top.iter().map(single).collect::<Vec<_>>().into(),
                },
            ))
        })
        .collect();
    let targets = operands
        .into_iter()
        .filter_map(|(pc, v)| Some((pc, jumpdests_in(analysis, &v?))))
        .collect();
    Some(Proven { entries, targets })
}

/// The value of an item known to hold exactly one.
fn single(v: &Values) -> Option<U256> {
    match v.as_deref() {
        Some(&[c]) => Some(c),
        _ => None,
    }
}

/// The JUMPDESTs among `values`, in increasing order.
fn jumpdests_in(analysis: &CodeAnalysis, values: &[U256]) -> Vec<usize> {
    values
        .iter()
        .filter_map(|t| analysis.jump_destination(t))
        .collect()
}

/// Where control may go when a block ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edge {
    To(usize),
    AnyJumpdest,
}

/// What running a block from one entry gives.
struct Run {
    /// What it leaves behind.
    exit: Stack,
    /// Where control may go next.
    edges: Vec<Edge>,
    /// The pc of the jump that ends it, if one does, and the jump's operand.
    jump: Option<(usize, Values)>,
}

/// Runs `block` from `entry`; `None` if it fails on its stack (natively it never gets past
/// its entry check).
fn run_block(analysis: &CodeAnalysis, block: &BasicBlock, entry: Stack) -> Option<Run> {
    let mut s = entry;
    let code = analysis.padded_code();
    // A JUMP or JUMPI always ends its block.
    let mut jump = None;
    let mut pc = block.start;
    while pc < block.end {
        let opc = code[pc];
        if opc == op::JUMP || opc == op::JUMPI {
            jump = Some((pc, s.top.last().cloned().flatten()));
        }
        if !s.step(opc, &code[pc + 1..pc + 1 + immediate_size(opc)]) {
            return None;
        }
        pc += 1 + immediate_size(opc);
    }
    let mut edges = Vec::new();
    match &jump {
        // A bad target fails there: no edge.
        Some((_, Some(values))) => {
            edges.extend(jumpdests_in(analysis, values).into_iter().map(Edge::To))
        }
        Some((_, None)) => edges.push(Edge::AnyJumpdest),
        None => {}
    }
    if !block.terminates && block.end < analysis.code().len() {
        edges.push(Edge::To(block.end));
    }
    Some(Run {
        exit: s,
        edges,
        jump,
    })
}

impl Stack {
    /// The meet of `self` and `other`: the common height, and the top items both have, each
    /// with the values of both.
    fn meet(&self, other: &Stack) -> Stack {
        let (a, b) = (&self.top, &other.top);
        let n = a.len().min(b.len());
        Stack {
            height: if self.height == other.height {
                self.height
            } else {
                None
            },
            top: a[a.len() - n..]
                .iter()
                .zip(&b[b.len() - n..])
                .map(|(x, y)| union(x, y))
                .collect(),
        }
    }

    /// Makes the top `n` items known (as any value where they were not); false if a known
    /// height has fewer.
    fn reach(&mut self, n: usize) -> bool {
        if self.height.is_some_and(|h| h < n) {
            return false;
        }
        if self.top.len() < n {
            let missing = n - self.top.len();
            self.top.splice(0..0, std::iter::repeat_n(None, missing));
        }
        true
    }

    fn push(&mut self, v: Values) {
        self.top.push(v);
        self.height = self.height.map(|h| h + 1);
    }

    /// One instruction; false if it underflows or overflows a known height.
    fn step(&mut self, opc: u8, immediate: &[u8]) -> bool {
        match opc {
            op::PUSH0..=op::PUSH32 => {
                let mut word = [0u8; 32];
                word[32 - immediate.len()..].copy_from_slice(immediate);
                self.push(Some(vec![U256::from_be_bytes(word)]));
            }
            op::DUP1..=op::DUP16 => {
                let n = usize::from(opc - op::DUP1) + 1;
                if !self.reach(n) {
                    return false;
                }
                let v = self.top[self.top.len() - n].clone();
                self.push(v);
            }
            op::SWAP1..=op::SWAP16 => {
                let n = usize::from(opc - op::SWAP1) + 1;
                if !self.reach(n + 1) {
                    return false;
                }
                let top = self.top.len() - 1;
                self.top.swap(top, top - n);
            }
            _ => {
                let (pops, pushes) = stack_io(opc);
                let pops = pops as usize;
                if !self.reach(pops) {
                    return false;
                }
                self.top.truncate(self.top.len() - pops);
                self.height = self.height.map(|h| h - pops);
                for _ in 0..pushes {
                    self.push(None);
                }
            }
        }
        self.height.is_none_or(|h| h <= STACK_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::Revision;
    use ember_testkit::{assemble, assemble_labelled};

    fn prove_src(src: &str) -> Proven {
        let a = CodeAnalysis::new(&assemble(src).unwrap());
        prove(&a, &a.basic_blocks(Revision::Cancun))
    }

    fn label(src: &str, name: &str) -> usize {
        assemble_labelled(src).unwrap().1[name]
    }

    fn stacks(src: &str) -> HashMap<usize, EntryStack> {
        prove_src(src).entries
    }

    fn c(n: u64) -> Option<U256> {
        Some(U256::from(n))
    }

    fn at(height: usize, top: Vec<Option<U256>>) -> EntryStack {
        EntryStack {
            height: Some(height),
            top: top.into(),
        }
    }

    #[test]
    fn constants_kept_below_a_loop_are_known_at_its_head() {
        // PUSH1 7 PUSH1 3 then a loop counting the 3 down; the 7 stays below it.
        let s = stacks("PUSH1 7 PUSH1 3 :loop PUSH1 1 SWAP1 SUB DUP1 &loop JUMPI STOP");
        assert_eq!(s[&0], at(0, vec![]));
        // At the loop's head: the 7, and a counter that differs between the two ways in.
        assert_eq!(s[&4], at(2, vec![c(7), None]));
        // After the JUMPI (`&loop` is a PUSH2): the same.
        assert_eq!(s[&14], at(2, vec![c(7), None]));
    }

    #[test]
    fn a_dynamic_jump_reaches_every_jumpdest_with_what_it_leaves() {
        // The target comes from call data: both JUMPDESTs may follow, each with the 5.
        let p = prove_src("PUSH1 5 PUSH1 0 CALLDATALOAD JUMP :a STOP :b STOP");
        assert_eq!(
            (p.entries[&6].clone(), p.entries[&8].clone()),
            (at(1, vec![c(5)]), at(1, vec![c(5)]))
        );
        assert!(p.targets.is_empty(), "the jump's operand is not known");
    }

    #[test]
    fn different_heights_keep_the_common_top_and_unreached_blocks_are_absent() {
        // :m is reached with one item (fall-through: 1 then 2) and with one (the jump: 1).
        let s = stacks("PUSH1 1 PUSH1 0 CALLDATALOAD &m JUMPI PUSH1 2 :m STOP :dead STOP");
        assert_eq!(s[&9], at(1, vec![c(1)]));
        let m = &s[&11];
        assert_eq!(m.height, None, "two heights");
        assert_eq!(
            *m.top,
            [None],
            "the top item is 2 on one way in and 1 on the other"
        );
        assert_eq!(s.get(&13), None, "no dynamic jump: unreached");
        let s = stacks("PUSH1 1 &end JUMP :dead PUSH1 9 STOP :end STOP");
        assert_eq!(s.get(&6), None, "unreached");
        assert_eq!(s[&10], at(1, vec![c(1)]));
    }

    #[test]
    fn a_block_that_underflows_leaves_nothing_behind() {
        // The block at 2 pops two items from one: natively it exits at its entry check, so
        // nothing reaches :after.
        let s = stacks("PUSH1 4 :u ADD &after JUMP :after STOP");
        assert_eq!(s[&2], at(1, vec![c(4)]));
        assert_eq!(s.get(&8), None);
    }

    /// A helper `f(x)` called from two sites at different heights, Solidity style: the caller
    /// pushes its return address and the argument, `f` leaves its result under the return
    /// address and jumps back.
    const TWO_CALLERS: &str = "
        PUSH1 0 CALLDATALOAD &ret1 PUSH1 1 &f JUMP
        :ret1 PUSH1 9 SWAP1 &ret2 SWAP1 &f JUMP
        :ret2 STOP
        :f PUSH1 3 ADD SWAP1 JUMP";

    #[test]
    fn a_return_jump_goes_back_only_to_the_return_sites() {
        let code = assemble(TWO_CALLERS).unwrap();
        let a = CodeAnalysis::new(&code);
        let p = prove(&a, &a.basic_blocks(Revision::Cancun));
        let label = |l: &str| label(TWO_CALLERS, l);
        let (f, ret1, ret2) = (label("f"), label("ret1"), label("ret2"));
        // f is entered at heights 3 and 4: what holds on both ways in is three items, none
        // of them one constant (x or 9, ret1 or ret2, 1 or 4).
        let entry = &p.entries[&f];
        assert_eq!(entry.height, None);
        assert_eq!(*entry.top, [None, None, None]);
        // Its JUMP goes to ret1 or ret2, and nowhere else.
        let jump = code.len() - 1;
        assert_eq!(p.targets[&jump], vec![ret1, ret2]);
        // Followed once per height, f returns from each call to its own caller only: the
        // return sites keep their heights and what is known there (the 9 below the second
        // call; f's result is arithmetic, which the pass does not fold).
        assert_eq!(p.entries[&ret1], at(2, vec![None, None]));
        assert_eq!(p.entries[&ret2], at(3, vec![None, c(9), None]));
    }

    #[test]
    fn items_an_instruction_needs_are_known_to_exist_after_it() {
        // From a stack of unknown height with nothing known: ADDMOD runs natively only with
        // three items there, so it leaves at least one, its result; then the 5 above it.
        let mut s = Stack {
            height: None,
            top: Vec::new(),
        };
        assert!(s.step(op::ADDMOD, &[]) && s.step(op::PUSH1, &[5]));
        assert_eq!(s.top, vec![None, Some(vec![U256::from(5)])]);
        // SWAP3 needs four: the two it did not know of join the top as any value.
        assert!(s.step(op::SWAP3, &[]));
        assert_eq!(s.top, vec![Some(vec![U256::from(5)]), None, None, None]);
        // With a known height, too few items is a failure.
        let mut s = Stack {
            height: Some(2),
            top: vec![None, None],
        };
        assert!(!s.step(op::ADDMOD, &[]));
    }

    #[test]
    fn more_values_than_kept_are_any_value() {
        // `ways` ways into :m, each with another constant on top, which :m jumps to.
        let jump_at_m = |ways: usize| {
            let mut src = String::from("PUSH1 0 CALLDATALOAD ");
            for i in 0..ways {
                src += &format!("DUP1 PUSH1 {i} EQ &c{i} JUMPI ");
            }
            src += "STOP ";
            for i in 0..ways {
                src += &format!(":c{i} PUSH1 {} &m JUMP ", 100 + i);
            }
            src += ":m JUMP";
            let p = prove_src(&src);
            p.targets.get(&(label(&src, "m") + 1)).cloned()
        };
        // Sixteen constants are kept (none of them a JUMPDEST: every one is a bad jump).
        assert_eq!(jump_at_m(MAX_VALUES), Some(vec![]));
        // One more, and the jump may go anywhere.
        assert_eq!(jump_at_m(MAX_VALUES + 1), None);
    }
}
