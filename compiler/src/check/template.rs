//! Path templates (`out/%Y-%m-%d/%{host}/`) in options: escapes must exist, fields must exist.
//!
//! Which time fills the escapes is the connector's own rule (the `files` sink's check hook).

use super::errors;
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::template::{parse, Part, Template, TIME_ESCAPES};
use crate::types::StreamType;

/// Checks escapes (stream-independent): E0312. The parsed template when they are all known.
pub(crate) fn check_escapes(ctx: &mut Ctx, template: &str, span: Span) -> Option<Template> {
    match parse(template) {
        Ok(parsed) => Some(parsed),
        Err((offset, text)) => {
            let at = within(template, span, offset, text.len());
            let escapes: Vec<String> = TIME_ESCAPES.iter().map(|(c, _)| format!("%{c}")).collect();
            let (message, label) = if text == "%{}" {
                ("`%{}` names no field".to_string(), "a field name belongs between the braces".to_string())
            } else if text.starts_with("%{") {
                (format!("`{text}` is never closed"), "this `%{` has no `}`".to_string())
            } else {
                (format!("`{text}` is not a path escape"), format!("`{text}` is not known"))
            };
            ctx.diags.push(
                Diagnostic::error("E0312", message)
                    .at(at, label)
                    .help(format!("the escapes are {}, %{{field}} and %% for a literal %", escapes.join(" "))),
            );
            None
        }
    }
}

/// Checks `%{field}` names against the records fed to the node: E0313.
pub(crate) fn check_fields(ctx: &mut Ctx, template: &Template, span: Span, input: &StreamType) {
    let text = template.to_string();
    for part in &template.parts {
        if let Part::Field(name, offset) = part {
            if input.record.field(name).is_none() {
                let at = within(&text, span, *offset, name.len());
                let mut diag = errors::unknown_field(name, at, &input.record);
                diag.code = "E0313";
                diag.message = format!("the path uses `%{{{name}}}`, but records have no field `{name}`");
                diag.primary.message = "unknown field in path".into();
                ctx.diags.push(diag);
            }
        }
    }
}

/// The source span of `len` bytes at `offset` in the decoded `template` written as the string at `span`.
/// When escapes make the decoded text shorter than the source, offsets do not line up: the whole string.
fn within(template: &str, span: Span, offset: usize, len: usize) -> Span {
    if span.len() != template.len() + 2 {
        return span;
    }
    Span::new(span.start + 1 + offset, span.start + 1 + offset + len).min_within(span)
}

trait MinWithin {
    fn min_within(self, outer: Span) -> Span;
}

impl MinWithin for Span {
    /// Clamps the span inside `outer`.
    fn min_within(self, outer: Span) -> Span {
        let start = self.start.clamp(outer.start, outer.end);
        let end = self.end.clamp(start, outer.end);
        Span::new(start, end)
    }
}
