//! Per-thread memory of the entries last found by their code's bytes.
//!
//! A client calling through EVMC gives no code hash, so the runtime identifies code by a
//! seeded xxh3 over all of its bytes and looks the hash up in the store. Hosts mostly hand
//! over the same contract from the same buffer call after call (their own code cache), so each
//! thread remembers, for the last few (address, length, revision) triples it looked up, the
//! entry it found. A remembered entry is used when its code equals the given bytes, byte for
//! byte, and it has not been evicted; that comparison replaces the hashing, the store's lookup
//! and its reclaimer guard, and it writes nothing other threads read.
//!
//! A remembered entry is only a shortcut: a stale one (other code now lies at that address,
//! or the entry left the store) is passed over, and the call looks its code up by hash.
//!
//! Lifetime: a slot holds an `Arc` of its entry, and a frame using a remembered entry marks
//! the slot in use, so that a nested frame on the same thread never replaces that `Arc` while
//! the outer one borrows the entry. A slot keeps its entry until the thread replaces it or
//! exits: at most [`SLOTS`] entries per thread, evicted and without compiled code once their
//! runtime has retired (`Runtime::retire`, which dropping a runtime does).

use crate::state::ContractState;
use crate::store::Entry;
use ember_evm::Revision;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

/// Entries remembered per thread (direct-mapped by address and length).
const SLOTS: usize = 8;

/// What a slot remembers: the runtime, the code's place and revision, and the entry found.
struct Remembered {
    runtime: u64,
    addr: usize,
    len: usize,
    rev: Revision,
    /// An `Arc<Entry<C>>` for the runtime's `C` (a thread-local cannot be generic).
    entry: Box<dyn Any>,
}

struct Slot {
    remembered: RefCell<Option<Remembered>>,
    /// Frames on this thread using the remembered entry now.
    users: Cell<u32>,
}

thread_local! {
    static RECENT: [Slot; SLOTS] = const {
        [const {
            Slot {
                remembered: RefCell::new(None),
                users: Cell::new(0),
            }
        }; SLOTS]
    };
}

fn index(code: &[u8]) -> usize {
    let addr = code.as_ptr() as usize;
    ((addr >> 4) ^ (addr >> 13) ^ code.len()) % SLOTS
}

/// A remembered entry in use by a frame. The slot keeps the entry alive and unreplaced until
/// this is dropped (on the same thread: it is neither `Send` nor `Sync`).
pub(crate) struct InUse<C: 'static> {
    entry: NonNull<Arc<Entry<C>>>,
    users: NonNull<Cell<u32>>,
    _not_send: PhantomData<*const ()>,
}

impl<C: 'static> std::ops::Deref for InUse<C> {
    type Target = Arc<Entry<C>>;

    fn deref(&self) -> &Arc<Entry<C>> {
        // SAFETY: `entry` points into the box of a slot's `Remembered`, which `remember`
        // does not replace while the slot's `users` is above zero, and this value holds one
        // of those users until it drops; the thread-local lives as long as the thread, and
        // an `InUse` never leaves it.
        unsafe { self.entry.as_ref() }
    }
}

impl<C: 'static> Drop for InUse<C> {
    fn drop(&mut self) {
        // SAFETY: the slot's counter, in this thread's thread-local (see `deref`).
        let users = unsafe { self.users.as_ref() };
        users.set(users.get() - 1);
    }
}

/// The entry this thread remembers for `code` (at its address and length) and `rev` in the
/// runtime numbered `runtime`, if its code is `code` and it is still in the store.
#[inline]
pub(crate) fn find<C: 'static>(runtime: u64, code: &[u8], rev: Revision) -> Option<InUse<C>> {
    RECENT.with(|slots| {
        let slot = &slots[index(code)];
        let remembered = slot.remembered.borrow();
        let r = remembered.as_ref()?;
        if r.runtime != runtime
            || r.addr != code.as_ptr() as usize
            || r.len != code.len()
            || r.rev != rev
        {
            return None;
        }
        let entry = r.entry.downcast_ref::<Arc<Entry<C>>>()?;
        if entry.analysis.code() != code || entry.state() == ContractState::Evicted {
            return None;
        }
        slot.users.set(slot.users.get() + 1);
        Some(InUse {
            entry: NonNull::from(entry),
            users: NonNull::from(&slot.users),
            _not_send: PhantomData,
        })
    })
}

/// Remembers that `code`, where it lies now, is `entry`'s for `rev` in the runtime numbered
/// `runtime` (the caller has compared the bytes). A slot in use keeps what it has.
pub(crate) fn remember<C: 'static>(
    runtime: u64,
    code: &[u8],
    rev: Revision,
    entry: &Arc<Entry<C>>,
) {
    RECENT.with(|slots| {
        let slot = &slots[index(code)];
        if slot.users.get() > 0 {
            return;
        }
        let old = slot.remembered.replace(Some(Remembered {
            runtime,
            addr: code.as_ptr() as usize,
            len: code.len(),
            rev,
            entry: Box::new(Arc::clone(entry)),
        }));
        // The old entry may be the last reference to an evicted entry: drop it after the
        // slot is consistent again.
        drop(old);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CodeId, Key};
    use crate::window::Window;
    use ember_profile::UnitId;

    fn entry(code: &[u8]) -> Arc<Entry<()>> {
        let key = Key {
            id: CodeId::Fast(1),
            rev: Revision::Cancun,
        };
        Arc::new(Entry::new(key, code, Window::new(1, 1), UnitId(1)))
    }

    #[test]
    fn an_entry_is_found_for_its_runtime_place_revision_and_bytes_only() {
        let code = vec![0x60u8, 1, 0x60, 2, 0x01];
        let e = entry(&code);
        let rev = Revision::Cancun;
        assert!(find::<()>(7, &code, rev).is_none());
        remember(7, &code, rev, &e);
        let found = find::<()>(7, &code, rev).expect("remembered");
        assert!(Arc::ptr_eq(&found, &e));
        drop(found);
        assert!(find::<()>(8, &code, rev).is_none(), "another runtime");
        assert!(
            find::<()>(7, &code, Revision::Shanghai).is_none(),
            "another revision"
        );
        assert!(find::<()>(7, &code[..4], rev).is_none(), "another length");
        assert!(
            find::<u8>(7, &code, rev).is_none(),
            "another backend's entry type"
        );
        let copy = code.clone();
        assert!(find::<()>(7, &copy, rev).is_none(), "another address");
        let other = std::thread::spawn(move || find::<()>(7, &copy, rev).is_none());
        assert!(other.join().unwrap(), "per thread");
    }

    #[test]
    fn changed_bytes_or_an_evicted_entry_are_passed_over() {
        let mut code = vec![0x60u8, 1, 0x60, 2, 0x01];
        let e = entry(&code);
        let rev = Revision::Cancun;
        remember(9, &code, rev, &e);
        code[1] = 3;
        assert!(
            find::<()>(9, &code, rev).is_none(),
            "other code in the same buffer"
        );
        code[1] = 1;
        assert!(find::<()>(9, &code, rev).is_some());
        e.state
            .transition(ContractState::Cold, ContractState::Evicted)
            .unwrap();
        assert!(find::<()>(9, &code, rev).is_none(), "evicted");
    }

    #[test]
    fn a_slot_in_use_is_not_replaced_and_keeps_its_entry_alive() {
        let code = vec![0x60u8, 1, 0x60, 2, 0x01];
        let rev = Revision::Cancun;
        let first = entry(&code);
        remember(11, &code, rev, &first);
        let weak = Arc::downgrade(&first);
        drop(first);
        let outer = find::<()>(11, &code, rev).expect("remembered");
        // A nested frame finds other code under the same slot and remembers it: ignored
        // while the outer frame uses the slot.
        let second = entry(&code);
        remember(11, &code, rev, &second);
        assert!(weak.upgrade().is_some(), "the outer frame's entry is alive");
        assert_eq!(outer.analysis.code(), &code[..]);
        let inner = find::<()>(11, &code, rev).expect("the same entry, nested");
        assert!(Arc::ptr_eq(&inner, &outer));
        drop(inner);
        drop(outer);
        remember(11, &code, rev, &second);
        assert!(weak.upgrade().is_none(), "replaced once no frame used it");
        assert!(Arc::ptr_eq(&find::<()>(11, &code, rev).unwrap(), &second));
    }
}
