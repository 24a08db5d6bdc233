//! The language commands: `check`, `graph`, `explain`, `run`, `test`.

pub mod check;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod import;
mod reload;
pub mod run;
pub mod serve;
pub mod test;

use flowc_compiler::FileId;

/// Exit code: the input is wrong (diagnostics).
pub const EXIT_INPUT: i32 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_USAGE: i32 = 2;

/// Reads a `.flow` file: its text, or an I/O error message, or an E0109 diagnostic for bad bytes.
pub(crate) enum Loaded {
    Text(String),
    NotUtf8(flowc_compiler::Diagnostic, String),
    Failed(String),
}

pub(crate) fn load(path: &str, file: FileId) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return Loaded::Failed(format!("error: cannot read {path}: {err}")),
    };
    match flowc_compiler::syntax::decode(file, &bytes) {
        Ok(text) => Loaded::Text(text.to_string()),
        Err(diag) => Loaded::NotUtf8(diag, String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Whether stderr is a terminal that wants colour.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Writes to stdout; a closed pipe (`flowc check … | head`) is not an error worth a panic.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
