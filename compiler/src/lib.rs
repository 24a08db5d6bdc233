//! The .flow language: parse → AST with spans → resolve names → type-check → lower to a dataflow graph.
//!
//! Pure: source text and a builtins registry in, a program and diagnostics out. No I/O, no tokio, no printing.

// Syntax trees and diagnostics are built once per check and moved, not copied in hot loops.
#![allow(clippy::large_enum_variant, clippy::result_large_err)]

pub mod builtins;
pub mod codes;
pub mod diagnostic;
pub mod span;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use span::{FileId, Span};
pub mod ast;
pub mod check;
pub mod format;
pub mod graph;
pub mod suggest;
pub mod syntax;
pub mod template;
pub mod types;

pub use check::{analyze, analyze_tests, check, Analysis, TestsAnalysis};
