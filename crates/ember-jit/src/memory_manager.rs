//! The MCJIT memory manager that makes LLVM write machine code straight into the code heap.
//!
//! Every section LLVM asks for becomes its own [`CodeRegion`] (so each can get its own final
//! protection), allocated from the compilation's [`Reservation`]. At `finalize_memory` code
//! sections are sealed read+execute and read-only data read-only; writable data sections (the
//! generated code has none, but LLVM may ask) stay read+write and never executable. The
//! regions are shared with the compiler through an `Rc`, so they can be taken out once the
//! function address is known, before the execution engine (which owns this manager) is
//! dropped.

use crate::heap::{CodeRegion, HeapError, Protection, Reservation};
use inkwell::memory_manager::McjitMemoryManager;
use std::cell::RefCell;
use std::rc::Rc;

/// One section LLVM allocated, with the protection it gets when finalised.
#[derive(Debug)]
pub(crate) struct Section {
    pub region: CodeRegion,
    pub final_protection: Protection,
    /// Bytes LLVM asked for (the region is rounded up to whole pages).
    pub size: usize,
}

/// State shared between the memory manager (owned by LLVM) and the compiler.
#[derive(Debug, Default)]
pub(crate) struct Sections {
    pub sections: Vec<Section>,
    /// The first allocation or protection error; LLVM is told about it where it can be.
    pub error: Option<String>,
    pub finalized: bool,
}

/// Regions start on page boundaries, and pages are at least 4 KiB.
const MAX_SECTION_ALIGN: usize = 4096;

#[derive(Debug)]
pub(crate) struct HeapMemoryManager {
    reservation: Reservation,
    shared: Rc<RefCell<Sections>>,
}

impl HeapMemoryManager {
    pub fn new(reservation: Reservation, shared: Rc<RefCell<Sections>>) -> Self {
        HeapMemoryManager {
            reservation,
            shared,
        }
    }

    fn allocate(
        &mut self,
        size: usize,
        alignment: u32,
        name: &str,
        final_protection: Protection,
    ) -> *mut u8 {
        let mut shared = self.shared.borrow_mut();
        let result = if alignment as usize > MAX_SECTION_ALIGN {
            Err(format!(
                "section {name} wants alignment {alignment}, more than a page"
            ))
        } else {
            self.reservation
                .allocate(size)
                .map_err(|e: HeapError| e.to_string())
        };
        match result {
            Ok(mut region) => {
                let ptr = region.as_mut_ptr();
                shared.sections.push(Section {
                    region,
                    final_protection,
                    size,
                });
                ptr
            }
            Err(e) => {
                // The reservation made before compiling bounds every module the analyzer
                // admits, so this is not expected; LLVM reports a null section as a fatal
                // error, which is why the compiler reserves before it starts.
                shared.error.get_or_insert(e);
                std::ptr::null_mut()
            }
        }
    }
}

impl McjitMemoryManager for HeapMemoryManager {
    fn allocate_code_section(
        &mut self,
        size: libc::uintptr_t,
        alignment: libc::c_uint,
        _section_id: libc::c_uint,
        section_name: &str,
    ) -> *mut u8 {
        self.allocate(size, alignment, section_name, Protection::ReadExecute)
    }

    fn allocate_data_section(
        &mut self,
        size: libc::uintptr_t,
        alignment: libc::c_uint,
        _section_id: libc::c_uint,
        section_name: &str,
        is_read_only: bool,
    ) -> *mut u8 {
        let prot = if is_read_only {
            Protection::ReadOnly
        } else {
            Protection::ReadWrite
        };
        self.allocate(size, alignment, section_name, prot)
    }

    fn finalize_memory(&mut self) -> Result<(), String> {
        let mut shared = self.shared.borrow_mut();
        for s in &mut shared.sections {
            if s.final_protection != Protection::ReadWrite {
                s.region
                    .seal(s.final_protection)
                    .map_err(|e| e.to_string())?;
            }
        }
        shared.finalized = true;
        Ok(())
    }

    fn destroy(&mut self) {
        // The regions are owned by `shared`; whatever the compiler has not taken out is
        // freed when the last `Rc` goes.
    }
}
