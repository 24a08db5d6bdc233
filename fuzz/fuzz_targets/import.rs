//! Any bytes as a Flume agent's properties file through `flowc import`: a translation or an error
//! message, never a panic; a translation always parses (`cargo fuzz run import`; corpus replayed by
//! `tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        flowc::fuzzing::import(text);
    }
});
