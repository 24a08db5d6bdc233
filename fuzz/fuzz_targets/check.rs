//! Fuzzes the whole checker: any bytes must end in diagnostics, never a panic.
#![no_main]

use flowc_compiler::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = flowc_compiler::syntax::decode(FileId(0), data) {
        let _ = flowc_compiler::check(FileId(0), text, flowc_stdlib::registry());
    }
});
