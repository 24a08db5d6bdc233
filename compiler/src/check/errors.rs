//! Diagnostics more than one check builds: an unknown field (with its did-you-mean), an invalid regex.
//!
//! They live here, below every check that uses them, so the checks do not import each other for them.

use crate::diagnostic::Diagnostic;
use crate::suggest::did_you_mean;
use crate::types::RecordType;

/// E0401: `name` is no field of `record`, with the closest field or the ones there are.
pub(crate) fn unknown_field(name: &str, span: crate::span::Span, record: &RecordType) -> Diagnostic {
    // Fields whose own errors were reported (`select { pth }`) are not offered.
    let known = || record.fields.iter().filter(|f| !f.ty.is_error()).map(|f| f.name.as_str());
    let help = match did_you_mean(name, known()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if known().next().is_none() => "the record has no fields".to_string(),
        None if known().eq(["line"]) => {
            "the records are untyped lines, with only `line`: parse them into a record type first, e.g. `| parse json as MyType`".to_string()
        }
        None => format!("the fields are: {}", known().collect::<Vec<_>>().join(", ")),
    };
    Diagnostic::error("E0401", format!("the record has no field `{name}`")).at(span, "unknown field").help(help)
}

/// E0309: a regular expression that does not compile, with the last line of its error.
pub(crate) fn invalid_regex(span: crate::span::Span, err: &regex::Error) -> Diagnostic {
    let detail = err.to_string();
    let last = detail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("invalid").trim().to_string();
    Diagnostic::error("E0309", "invalid regular expression")
        .at(span, last.trim_start_matches("error: ").to_string())
        .help("regular expressions follow Rust's regex syntax; escape a literal `.` `(` `[` with `\\\\`")
}
