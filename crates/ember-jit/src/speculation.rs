//! Profile-guided speculation on dynamic jumps.
//!
//! A [`Speculation`] says, per JUMP/JUMPI site, which targets the interpreter saw. Compiled
//! against it ([`crate::compile_speculative`]), a site whose target is not a compile-time
//! constant becomes:
//!
//! * [`SiteProfile::Targets`] (non-empty): compare-and-branch to each listed target that is a
//!   JUMPDEST; any other value leaves through a *recompile side exit* at the jump;
//! * [`SiteProfile::Megamorphic`]: the shared dispatch over all JUMPDESTs, as without a
//!   profile;
//! * a site absent from the profile (it never ran), or a JUMP with no targets: the jump itself
//!   is a recompile exit. A JUMPI with no targets (it ran but never jumped) falls through on a
//!   false condition and exits on a true one; an absent JUMPI exits as a whole.
//!
//! A recompile exit hands the exact state before the jump to the interpreter, like every
//! side exit, and is reported as [`ExitKind::Recompile`] so that the caller can drop the
//! version and profile again. Any [`ember_evm::JumpObserver`] passed to
//! [`ember_evm::execute_observed`] can collect a profile (the runtime's `JumpProfile`; the
//! test-only `JumpRecorder`).

#[cfg(any(test, feature = "testing"))]
use ember_evm::JumpObserver;
#[cfg(any(test, feature = "testing"))]
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Most distinct targets a site is speculated on; more is megamorphic.
pub const MAX_SPECULATED_TARGETS: usize = 4;

/// What the interpreter saw at one JUMP/JUMPI site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteProfile {
    /// Ran; jumped to these targets (at most [`MAX_SPECULATED_TARGETS`], distinct). Empty for
    /// a JUMPI that ran but never jumped.
    Targets(Vec<u32>),
    /// Jumped to more distinct targets than are speculated on.
    Megamorphic,
}

impl SiteProfile {
    /// Adds one observed target.
    fn add(&mut self, target: u32) {
        if let SiteProfile::Targets(ts) = self {
            if !ts.contains(&target) {
                if ts.len() == MAX_SPECULATED_TARGETS {
                    *self = SiteProfile::Megamorphic;
                } else {
                    ts.push(target);
                }
            }
        }
    }
}

/// A profile to compile against: JUMP/JUMPI sites by pc. A site absent from the map never
/// ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Speculation {
    /// The profiled sites.
    pub sites: BTreeMap<u32, SiteProfile>,
}

impl Speculation {
    /// An empty profile: every site counts as never run.
    pub fn new() -> Self {
        Speculation::default()
    }

    /// Records that the jump at `pc` went to `target`. Pcs beyond `u32` (never in compilable
    /// code) are ignored.
    pub fn record_taken(&mut self, pc: usize, target: usize) {
        let (Ok(pc), Ok(target)) = (u32::try_from(pc), u32::try_from(target)) else {
            return;
        };
        self.sites
            .entry(pc)
            .or_insert_with(|| SiteProfile::Targets(Vec::new()))
            .add(target);
    }

    /// Records that the JUMPI at `pc` ran without jumping.
    pub fn record_not_taken(&mut self, pc: usize) {
        if let Ok(pc) = u32::try_from(pc) {
            self.sites
                .entry(pc)
                .or_insert_with(|| SiteProfile::Targets(Vec::new()));
        }
    }

    /// Adds everything `other` saw: the union of the targets per site, megamorphic when the
    /// union has more than [`MAX_SPECULATED_TARGETS`].
    pub fn merge(&mut self, other: &Speculation) {
        for (&pc, site) in &other.sites {
            let mine = self
                .sites
                .entry(pc)
                .or_insert_with(|| SiteProfile::Targets(Vec::new()));
            match site {
                SiteProfile::Megamorphic => *mine = SiteProfile::Megamorphic,
                SiteProfile::Targets(ts) => {
                    for &t in ts {
                        mine.add(t);
                    }
                }
            }
        }
    }
}

/// A [`JumpObserver`] that builds a [`Speculation`] from the jumps of interpreted frames, on
/// one thread; for tests (the runtime records through its shared `JumpProfile`).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct JumpRecorder {
    profile: RefCell<Speculation>,
}

#[cfg(any(test, feature = "testing"))]
impl JumpRecorder {
    /// A recorder with nothing seen yet.
    pub fn new() -> Self {
        JumpRecorder::default()
    }

    /// The profile recorded so far.
    pub fn into_speculation(self) -> Speculation {
        self.profile.into_inner()
    }
}

#[cfg(any(test, feature = "testing"))]
impl JumpObserver for JumpRecorder {
    fn taken(&self, pc: usize, target: usize) {
        self.profile.borrow_mut().record_taken(pc, target);
    }

    fn not_taken(&self, pc: usize) {
        self.profile.borrow_mut().record_not_taken(pc);
    }
}

/// Why compiled code handed a frame to the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitKind {
    /// Something compiled code leaves to the interpreter whatever the profile: a failed block
    /// entry check (gas, stack), an undefined or INVALID opcode, a jump to a bad
    /// destination, too little gas after a builtin.
    Fallback,
    /// The speculation was wrong: a jump went to a target the profile did not see, or a site
    /// that never ran in the profile ran. Only code compiled with a [`Speculation`] has these.
    Recompile,
}

/// A side exit taken by compiled code: the interpreter continues the frame at `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SideExit {
    /// Where the interpreter continues (for a recompile exit, the jump itself).
    pub pc: u32,
    /// Why.
    pub kind: ExitKind,
}

/// What the compiler did with a speculation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpeculationStats {
    /// Dynamic jump sites compiled as compare-and-branch to profiled targets.
    pub guarded_sites: u32,
    /// Dynamic jump sites whose jump is a recompile exit: never ran, or never jumped.
    pub unprofiled_sites: u32,
    /// Dynamic jump sites compiled with the full dispatch over all JUMPDESTs.
    pub table_sites: u32,
    /// Dynamic jump sites whose targets the compiler proved (a few constants, such as the
    /// return sites of an internal function): compare-and-branch to them without
    /// speculating, whatever the profile says.
    pub proven_sites: u32,
    /// Recompile exits in the code (each guarded or unprofiled site has one).
    pub recompile_exits: u32,
    /// EVM basic blocks compiled: those some compiled branch reaches. Blocks that only
    /// recompile exits lead to are left out.
    pub compiled_blocks: u32,
}

/// How the compiler treats one dynamic jump site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SitePlan {
    /// The shared dispatch over all JUMPDESTs (no profile given, or megamorphic).
    Table,
    /// Compare-and-branch to these targets (valid JUMPDESTs, distinct, in the profile's order,
    /// which is the order they were first seen; possibly none), a recompile exit for anything
    /// else.
    Guard(Vec<usize>),
    /// The site never ran: the jump instruction is a recompile exit.
    Unprofiled,
    /// Compare-and-branch to these targets, which the compiler proved are the only
    /// JUMPDESTs the jump can reach; a side exit for any other value (a bad jump).
    Proven(Vec<usize>),
}

/// The plan for the dynamic jump at `pc` under `spec`; `is_jumpdest` tells valid targets.
/// A `Targets` list longer than [`MAX_SPECULATED_TARGETS`] (not something a profile makes)
/// is treated as megamorphic.
pub(crate) fn plan(
    spec: Option<&Speculation>,
    pc: usize,
    is_jumpdest: impl Fn(usize) -> bool,
) -> SitePlan {
    let Some(spec) = spec else {
        return SitePlan::Table;
    };
    let site = u32::try_from(pc).ok().and_then(|pc| spec.sites.get(&pc));
    match site {
        None => SitePlan::Unprofiled,
        Some(SiteProfile::Megamorphic) => SitePlan::Table,
        Some(SiteProfile::Targets(ts)) if ts.len() > MAX_SPECULATED_TARGETS => SitePlan::Table,
        Some(SiteProfile::Targets(ts)) => {
            let mut valid: Vec<usize> = Vec::with_capacity(ts.len());
            for t in ts.iter().map(|&t| t as usize) {
                if is_jumpdest(t) && !valid.contains(&t) {
                    valid.push(t);
                }
            }
            SitePlan::Guard(valid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_keeps_distinct_targets_up_to_the_limit() {
        let mut s = Speculation::new();
        s.record_taken(10, 20);
        s.record_taken(10, 20);
        s.record_taken(10, 30);
        s.record_not_taken(12);
        s.record_taken(12, 40);
        s.record_not_taken(14);
        assert_eq!(s.sites[&10], SiteProfile::Targets(vec![20, 30]));
        assert_eq!(s.sites[&12], SiteProfile::Targets(vec![40]));
        assert_eq!(s.sites[&14], SiteProfile::Targets(vec![]));
        for t in [50, 60] {
            s.record_taken(10, t);
        }
        assert_eq!(s.sites[&10], SiteProfile::Targets(vec![20, 30, 50, 60]));
        // A fifth distinct target makes the site megamorphic for good.
        s.record_taken(10, 70);
        assert_eq!(s.sites[&10], SiteProfile::Megamorphic);
        s.record_taken(10, 20);
        assert_eq!(s.sites[&10], SiteProfile::Megamorphic);
        s.record_taken(usize::MAX, 1);
        assert_eq!(s.sites.len(), 3);
    }

    #[test]
    fn merging_unions_targets() {
        let mut a = Speculation::new();
        a.record_taken(1, 10);
        a.record_taken(1, 11);
        a.record_not_taken(2);
        a.record_taken(3, 30);
        let mut b = Speculation::new();
        b.record_taken(1, 11);
        b.record_taken(1, 12);
        b.record_taken(2, 20);
        b.record_taken(4, 40);
        b.sites.insert(3, SiteProfile::Megamorphic);
        a.merge(&b);
        assert_eq!(a.sites[&1], SiteProfile::Targets(vec![10, 11, 12]));
        assert_eq!(a.sites[&2], SiteProfile::Targets(vec![20]));
        assert_eq!(a.sites[&3], SiteProfile::Megamorphic);
        assert_eq!(a.sites[&4], SiteProfile::Targets(vec![40]));
        let mut c = Speculation::new();
        for t in 13..15 {
            c.record_taken(1, t);
        }
        a.merge(&c);
        assert_eq!(a.sites[&1], SiteProfile::Megamorphic);
    }

    #[test]
    fn the_recorder_observes_jumps() {
        let r = JumpRecorder::new();
        r.taken(5, 9);
        r.not_taken(7);
        r.taken(5, 9);
        let s = r.into_speculation();
        assert_eq!(s.sites[&5], SiteProfile::Targets(vec![9]));
        assert_eq!(s.sites[&7], SiteProfile::Targets(vec![]));
    }

    #[test]
    fn plans() {
        let even = |t: usize| t.is_multiple_of(2);
        assert_eq!(plan(None, 3, even), SitePlan::Table);
        let mut s = Speculation::new();
        assert_eq!(plan(Some(&s), 3, even), SitePlan::Unprofiled);
        s.sites.insert(3, SiteProfile::Targets(vec![8, 5, 2, 8]));
        assert_eq!(plan(Some(&s), 3, even), SitePlan::Guard(vec![8, 2]));
        s.sites.insert(3, SiteProfile::Targets(vec![]));
        assert_eq!(plan(Some(&s), 3, even), SitePlan::Guard(vec![]));
        s.sites.insert(3, SiteProfile::Megamorphic);
        assert_eq!(plan(Some(&s), 3, even), SitePlan::Table);
        s.sites
            .insert(3, SiteProfile::Targets(vec![2, 4, 6, 8, 10]));
        assert_eq!(plan(Some(&s), 3, even), SitePlan::Table);
    }
}
