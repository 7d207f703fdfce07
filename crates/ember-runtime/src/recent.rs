//! Per-thread hints of the fast hash of code, by where the code lay in memory.
//!
//! A client calling through EVMC gives no code hash, so the runtime identifies code by a
//! seeded xxh3 over all of its bytes, on every call. Hosts mostly hand over the same contract
//! from the same buffer call after call (their own code cache), so each thread remembers, for
//! the last few (address, length) pairs it hashed, the hash it got. The comparison of the
//! entry's code with the given bytes, which every lookup by fast hash makes anyway, then
//! replaces the hashing: one pass over the code instead of two.
//!
//! A hint is only a hint. The entry it names is used only when its code equals the given
//! bytes, and no entry is ever created under a hint, so a stale one (other code now lies at
//! that address) costs a lookup and falls back to hashing.

use std::cell::Cell;

/// Hints kept per thread (direct-mapped by address and length).
const SLOTS: usize = 8;

#[derive(Clone, Copy)]
struct Hint {
    /// The seed of the runtime that hashed the code: runtimes do not share hints.
    seed: u64,
    addr: usize,
    len: usize,
    hash: u128,
}

thread_local! {
    static HINTS: [Cell<Option<Hint>>; SLOTS] = const { [const { Cell::new(None) }; SLOTS] };
}

fn slot(code: &[u8]) -> usize {
    let addr = code.as_ptr() as usize;
    ((addr >> 4) ^ (addr >> 13) ^ code.len()) % SLOTS
}

/// The hash `remember` last recorded for code at this address and length by the runtime
/// seeded with `seed`, if any.
pub fn hint(seed: u64, code: &[u8]) -> Option<u128> {
    HINTS.with(|hints| {
        let h = hints[slot(code)].get()?;
        (h.seed == seed && h.addr == code.as_ptr() as usize && h.len == code.len())
            .then_some(h.hash)
    })
}

/// Records that `code`, where it lies now, hashed to `hash` under `seed`.
pub fn remember(seed: u64, code: &[u8], hash: u128) {
    HINTS.with(|hints| {
        hints[slot(code)].set(Some(Hint {
            seed,
            addr: code.as_ptr() as usize,
            len: code.len(),
            hash,
        }))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_names_the_address_length_and_seed_it_was_recorded_for() {
        let code = vec![1u8, 2, 3, 4];
        assert_eq!(hint(7, &code), None);
        remember(7, &code, 42);
        assert_eq!(hint(7, &code), Some(42));
        assert_eq!(hint(8, &code), None, "another runtime's seed");
        assert_eq!(hint(7, &code[..3]), None, "another length");
        assert_eq!(hint(7, &code[1..]), None, "another address");
        let other = std::thread::spawn(move || hint(7, &code)).join().unwrap();
        assert_eq!(other, None, "hints are per thread");
    }
}
