//! The .flow language: parse → AST with spans → resolve names → type-check → lower to a dataflow graph.
//!
//! Pure: source text and a builtins registry in, a program and diagnostics out. No I/O, no tokio, no printing.

pub mod builtins;
pub mod codes;
pub mod diagnostic;
pub mod span;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use span::{FileId, Span};
