//! The `flowc` command-line tools as a library: rendering diagnostics and the language commands.

pub mod commands;
pub mod console;
#[doc(hidden)]
pub mod fuzzing;
pub mod ide;
pub mod import;
pub mod lsp;
pub mod ops;
pub mod render;
