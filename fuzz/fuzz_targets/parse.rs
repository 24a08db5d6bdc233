//! Any bytes as lines through every `parse` format (combined, common, syslog, logfmt, json, csv,
//! regex): each line a record or a counted rejection, never a panic (`cargo fuzz run parse`; corpus
//! replayed by `tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flowc_runtime::fuzzing::parse_lines(data));
