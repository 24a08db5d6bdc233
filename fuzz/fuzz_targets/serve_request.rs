//! Any bytes as one request frame of `flowc serve` (what follows the 4-byte length): decoded into a
//! request or refused with an error, never a panic or an abort (`cargo fuzz run serve_request`;
//! seeds in `corpus/serve_request/` are real clients' requests, replayed by `server/tests/frames.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

// As in the flowc binary: a claimed huge array is address space, not an abort.
#[global_allocator]
static ALLOCATOR: flowc_runtime::large_alloc::LargeAllocGuard = flowc_runtime::large_alloc::LargeAllocGuard;

fuzz_target!(|data: &[u8]| {
    let _ = flowc_server::decode_request(bytes::Bytes::copy_from_slice(data));
});
