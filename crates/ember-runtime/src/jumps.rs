//! A contract's jump profile: at each JUMP/JUMPI site, which targets the interpreter saw it
//! take, collected lock-free by every thread running the contract while it is profiled, and
//! kept across versions so that each recompile sees everything learned so far.
//!
//! The sites are the contract's JUMP and JUMPI instructions, found once from the code; a site
//! is found by binary search over their pcs. Each site has [`MAX_SPECULATED_TARGETS`] target
//! slots, claimed with one compare-and-swap each and never cleared; a target that finds every
//! slot taken by others makes the site megamorphic. A site that ran is marked even if it never
//! jumped (a JUMPI that always fell through), so that "never ran" and "never jumped" differ.

use ember_evm::opcodes::{JUMP, JUMPI};
use ember_evm::{CodeAnalysis, JumpObserver};
use ember_jit::{SiteProfile, Speculation, MAX_SPECULATED_TARGETS};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

/// What has been seen at one site.
#[derive(Debug, Default)]
struct Site {
    ran: AtomicBool,
    megamorphic: AtomicBool,
    /// `target + 1` of each claimed slot, zero if free.
    targets: [AtomicU32; MAX_SPECULATED_TARGETS],
}

impl Site {
    fn taken(&self, target: u32) {
        // Once a site has run, the flag is only read: skip the store (and its cache-line
        // write) on every later jump.
        if !self.ran.load(Relaxed) {
            self.ran.store(true, Relaxed);
        }
        let tag = target + 1;
        for slot in &self.targets {
            match slot.load(Relaxed) {
                t if t == tag => return,
                0 => match slot.compare_exchange(0, tag, Relaxed, Relaxed) {
                    Ok(_) => return,
                    Err(t) if t == tag => return,
                    Err(_) => {}
                },
                _ => {}
            }
        }
        if !self.megamorphic.load(Relaxed) {
            self.megamorphic.store(true, Relaxed);
        }
    }

    fn profile(&self) -> Option<SiteProfile> {
        if self.megamorphic.load(Relaxed) {
            return Some(SiteProfile::Megamorphic);
        }
        if !self.ran.load(Relaxed) {
            return None;
        }
        let targets = self
            .targets
            .iter()
            .map(|t| t.load(Relaxed))
            .filter(|&t| t != 0)
            .map(|t| t - 1)
            .collect();
        Some(SiteProfile::Targets(targets))
    }
}

/// The jump targets seen at each JUMP/JUMPI of one contract.
#[derive(Debug)]
pub struct JumpProfile {
    /// The pcs of the contract's JUMP and JUMPI instructions, ascending.
    pcs: Box<[u32]>,
    sites: Box<[Site]>,
}

impl JumpProfile {
    /// An empty profile of the code's jump sites.
    pub fn new(analysis: &CodeAnalysis) -> Self {
        let code = analysis.code();
        let mut pcs = Vec::new();
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == JUMP || op == JUMPI {
                // Code is at most 2^32 bytes long (EVMC sizes are 32-bit), as are its pcs.
                pcs.push(pc as u32);
            }
            pc += 1 + ember_evm::opcodes::immediate_size(op);
        }
        let sites = pcs.iter().map(|_| Site::default()).collect();
        JumpProfile {
            pcs: pcs.into_boxed_slice(),
            sites,
        }
    }

    #[inline]
    fn site(&self, pc: usize) -> Option<&Site> {
        let pc = u32::try_from(pc).ok()?;
        let i = self.pcs.binary_search(&pc).ok()?;
        Some(&self.sites[i])
    }

    /// The profile as the compiler takes it: every site that ran or jumped.
    pub fn speculation(&self) -> Speculation {
        Speculation {
            sites: self
                .pcs
                .iter()
                .zip(self.sites.iter())
                .filter_map(|(&pc, site)| Some((pc, site.profile()?)))
                .collect(),
        }
    }
}

impl JumpObserver for JumpProfile {
    #[inline]
    fn taken(&self, pc: usize, target: usize) {
        if let (Some(site), Ok(target)) = (self.site(pc), u32::try_from(target)) {
            site.taken(target);
        }
    }

    #[inline]
    fn not_taken(&self, pc: usize) {
        if let Some(site) = self.site(pc) {
            if !site.ran.load(Relaxed) {
                site.ran.store(true, Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PUSH1 4 JUMP JUMPDEST PUSH1 0 PUSH1 9 JUMPI JUMPDEST STOP, with PUSH data that looks
    /// like JUMP (0x56) and JUMPI (0x57) bytes.
    fn code() -> CodeAnalysis {
        CodeAnalysis::new(&[
            0x60, 0x56, 0x56, 0x5b, 0x60, 0x57, 0x60, 0x09, 0x57, 0x5b, 0x00,
        ])
    }

    #[test]
    fn sites_are_the_jump_instructions_not_push_data() {
        let p = JumpProfile::new(&code());
        assert_eq!(&*p.pcs, &[2, 8]);
        assert!(p.site(1).is_none());
        assert!(p.site(5).is_none());
        assert_eq!(p.speculation(), Speculation::default(), "nothing ran yet");
    }

    #[test]
    fn targets_not_taken_and_megamorphic_sites() {
        let p = JumpProfile::new(&code());
        p.taken(2, 3);
        p.taken(2, 3);
        p.not_taken(8);
        let s = p.speculation();
        assert_eq!(s.sites[&2], SiteProfile::Targets(vec![3]));
        assert_eq!(s.sites[&8], SiteProfile::Targets(vec![]));
        for t in 10..10 + MAX_SPECULATED_TARGETS {
            p.taken(8, t);
        }
        let mut seen = match &p.speculation().sites[&8] {
            SiteProfile::Targets(t) => t.clone(),
            other => panic!("{other:?}"),
        };
        seen.sort_unstable();
        assert_eq!(seen.len(), MAX_SPECULATED_TARGETS);
        assert_eq!(seen[0], 10);
        p.taken(8, 99);
        assert_eq!(p.speculation().sites[&8], SiteProfile::Megamorphic);
        // Jumps at pcs that are not sites (never happens) are ignored.
        p.taken(5, 1);
        assert_eq!(p.speculation().sites.len(), 2);
    }

    #[test]
    fn concurrent_recording_keeps_every_target_once() {
        let p = JumpProfile::new(&code());
        std::thread::scope(|scope| {
            for t in 0..4 {
                let p = &p;
                scope.spawn(move || {
                    for i in 0..1000 {
                        p.taken(2, 100 + (i + t) % 4);
                    }
                });
            }
        });
        match &p.speculation().sites[&2] {
            SiteProfile::Targets(t) => {
                let mut t = t.clone();
                t.sort_unstable();
                assert_eq!(t, [100, 101, 102, 103]);
            }
            other => panic!("{other:?}"),
        }
    }
}
