//! Where a contract stands, one value behind an atomic.
//!
//! Every transition is one store or one compare-and-swap of a [`ContractState`] in the entry's
//! [`StateCell`]:
//!
//! ```text
//! cold ──► queued ──► compiling ──► compiled ──► cold (evicted, invalidated or discarded code)
//!   ▲        │            │    └──► rejected
//!   └────────┴────────────┘ (cancelled, or the code heap was full)
//! any state a compile job does not hold ──► evicted (the entry left the store)
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

/// Where a contract stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ContractState {
    /// Profiled in the interpreter (its compiled code, if it had any, was evicted or
    /// invalidated).
    Cold = 0,
    /// A compile request waits in the pool's queue.
    Queued = 1,
    /// A compile is running.
    Compiling = 2,
    /// A compiled version is published.
    Compiled = 3,
    /// The contract runs in the interpreter for good (the entry holds the reason).
    Rejected = 4,
    /// Removed from the store; threads still holding the entry keep using it.
    Evicted = 5,
}

impl ContractState {
    /// Every state, in the order of their numbers.
    pub const ALL: [ContractState; 6] = [
        ContractState::Cold,
        ContractState::Queued,
        ContractState::Compiling,
        ContractState::Compiled,
        ContractState::Rejected,
        ContractState::Evicted,
    ];

    /// `cold`, `queued`, `compiling`, `compiled`, `rejected` or `evicted`.
    pub fn name(self) -> &'static str {
        match self {
            ContractState::Cold => "cold",
            ContractState::Queued => "queued",
            ContractState::Compiling => "compiling",
            ContractState::Compiled => "compiled",
            ContractState::Rejected => "rejected",
            ContractState::Evicted => "evicted",
        }
    }

    /// The state numbered `n` (only numbers a [`StateCell`] stored ever reach it).
    fn from_u8(n: u8) -> ContractState {
        ContractState::ALL
            .get(usize::from(n))
            .copied()
            .unwrap_or(ContractState::Evicted)
    }
}

/// A [`ContractState`] that threads read and change without a lock.
#[derive(Debug)]
pub struct StateCell(AtomicU8);

impl StateCell {
    /// A cell holding `state`.
    pub fn new(state: ContractState) -> Self {
        StateCell(AtomicU8::new(state as u8))
    }

    /// The state (acquire: what was written before it was set is visible).
    pub fn load(&self) -> ContractState {
        ContractState::from_u8(self.0.load(Ordering::Acquire))
    }

    /// Sets the state (release).
    pub fn store(&self, state: ContractState) {
        self.0.store(state as u8, Ordering::Release);
    }

    /// Sets the state to `to` if it is `from`; otherwise returns the state it is.
    pub fn transition(&self, from: ContractState, to: ContractState) -> Result<(), ContractState> {
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(ContractState::from_u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_number() {
        for (n, s) in ContractState::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, n);
            assert_eq!(ContractState::from_u8(n as u8), s);
            let cell = StateCell::new(s);
            assert_eq!(cell.load(), s);
        }
    }

    #[test]
    fn a_transition_happens_only_from_the_expected_state() {
        let cell = StateCell::new(ContractState::Cold);
        assert_eq!(
            cell.transition(ContractState::Queued, ContractState::Cold),
            Err(ContractState::Cold)
        );
        assert_eq!(
            cell.transition(ContractState::Cold, ContractState::Queued),
            Ok(())
        );
        assert_eq!(cell.load(), ContractState::Queued);
        cell.store(ContractState::Rejected);
        assert_eq!(cell.load(), ContractState::Rejected);
    }

    #[test]
    fn states_have_names() {
        let names: Vec<_> = ContractState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "cold",
                "queued",
                "compiling",
                "compiled",
                "rejected",
                "evicted"
            ]
        );
    }
}
