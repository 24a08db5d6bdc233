//! The process allocator: the system's, except that very large blocks are mapped without reserving
//! memory, so a request that merely *claims* a huge size costs address space, not an abort.
//!
//! A decoder that sizes a vector from a length read off the wire (a Kafka request claiming 2^31
//! array elements in 40 bytes) asks for hundreds of gigabytes at once; glibc refuses, and Rust aborts
//! the whole process on a refused allocation — no panic, nothing to catch. Blocks of at least
//! [`LARGE`] bytes are instead anonymous mappings with `MAP_NORESERVE`: Linux grants them without
//! counting them against memory, pages are only ever backed once touched, and the decoder fails
//! normally as soon as the bytes run out, unmapping what it never used.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are mapped rather than taken from the heap.
pub const LARGE: usize = 1 << 30;

/// The allocator; binaries that decode untrusted input install it with `#[global_allocator]`.
pub struct LargeAllocGuard;

// SAFETY: small blocks are the system allocator's; large ones are fresh anonymous mappings of
// `layout.size()` bytes, page-aligned (so any alignment up to a page holds), returned whole to
// `munmap` with the same size, and zero-filled as `alloc_zeroed` promises.
unsafe impl GlobalAlloc for LargeAllocGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE || layout.align() > 4096 {
            return unsafe { System.alloc(layout) };
        }
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout.size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            p.cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE || layout.align() > 4096 {
            return unsafe { System.alloc_zeroed(layout) };
        }
        unsafe { self.alloc(layout) } // fresh anonymous mappings are zero-filled
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < LARGE || layout.align() > 4096 {
            return unsafe { System.dealloc(ptr, layout) };
        }
        unsafe { libc::munmap(ptr.cast(), layout.size()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_larger_than_memory_is_granted_and_returned() {
        let layout = Layout::from_size_align(200 << 30, 8).unwrap();
        let p = unsafe { LargeAllocGuard.alloc(layout) };
        assert!(!p.is_null(), "200 GiB of address space, none of it touched");
        unsafe {
            p.write(7);
            assert_eq!(p.read(), 7);
            LargeAllocGuard.dealloc(p, layout);
        }
        let small = Layout::from_size_align(64, 8).unwrap();
        let q = unsafe { LargeAllocGuard.alloc(small) };
        assert!(!q.is_null());
        unsafe { LargeAllocGuard.dealloc(q, small) };
    }
}
