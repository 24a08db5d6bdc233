//! Any bytes as one RecordBatch v2 (a segment's or a Kafka Produce's): refused or decoded, never a
//! panic (`cargo fuzz run record_batch`; corpus replayed by `tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

// As in the flowc binary: a claimed huge size is address space, not an abort.
#[global_allocator]
static ALLOCATOR: flowc_runtime::large_alloc::LargeAllocGuard = flowc_runtime::large_alloc::LargeAllocGuard;

fuzz_target!(|data: &[u8]| flowc_runtime::fuzzing::record_batch(data));
