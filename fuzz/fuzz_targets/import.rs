//! Any bytes as a Flume agent's properties file through `flowc import`: a translation or an error
//! message, never a panic; a translation always parses (`cargo fuzz run import`; corpus replayed by
//! `tests/fuzz_corpus.rs`). The importer and its check are the binary crate's own modules, compiled
//! in here (that crate also links librdkafka, which does not build with the fuzzer's flags).
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/import/mod.rs"]
mod import;

#[path = "../../src/fuzzing.rs"]
mod fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::import(text);
    }
});
