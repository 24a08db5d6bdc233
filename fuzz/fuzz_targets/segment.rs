//! Any bytes as a partition's first segment: the reader serves only batches that pass their CRC and
//! recovery opens it, never a panic (`cargo fuzz run segment`; corpus replayed by
//! `tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: flowc_runtime::large_alloc::LargeAllocGuard = flowc_runtime::large_alloc::LargeAllocGuard;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("flowc-fuzz-segment-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    flowc_runtime::fuzzing::segment(data, &dir).expect("the scratch directory is writable");
});
