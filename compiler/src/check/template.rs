//! Path templates (`out/%Y-%m-%d/%{host}/`): escapes must exist, fields must exist, time needs a timestamp.

use super::exprs;
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::graph::{OptionMap, OptionValue};
use crate::span::Span;
use crate::types::{StreamType, Type};

/// The time escapes a path may use.
pub const TIME_ESCAPES: &[(char, &str)] = &[
    ('Y', "four-digit year"),
    ('y', "two-digit year"),
    ('m', "month 01–12"),
    ('d', "day 01–31"),
    ('H', "hour 00–23"),
    ('M', "minute 00–59"),
    ('S', "second 00–59"),
    ('s', "seconds since the Unix epoch"),
];

/// One piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Time(char),
    /// `%{field}`, with the field name's byte offset in the template.
    Field(String, usize),
}

/// Splits a template into parts, or returns the byte offset and text of the first bad escape.
pub fn parse(template: &str) -> Result<Vec<Part>, (usize, String)> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '%')) => literal.push('%'),
            Some((j, '{')) => {
                let rest = &template[j + 1..];
                let Some(end) = rest.find('}').filter(|end| *end > 0) else {
                    return Err((
                        i,
                        template[i..(j + 2 + rest.find('}').unwrap_or(rest.len())).min(template.len())].to_string(),
                    ));
                };
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Field(rest[..end].to_string(), j + 1));
                for _ in 0..rest[..=end].chars().count() {
                    chars.next();
                }
            }
            Some((_, e)) if TIME_ESCAPES.iter().any(|(t, _)| *t == e) => {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Time(e));
            }
            Some((_, e)) => return Err((i, format!("%{e}"))),
            None => return Err((i, "%".to_string())),
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// Checks escapes (stream-independent): E0312.
pub(crate) fn check_escapes(ctx: &mut Ctx, template: &str, span: Span) -> bool {
    match parse(template) {
        Ok(_) => true,
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
            false
        }
    }
}

/// Checks `%{field}` names and that time escapes have a timestamp: E0313, E0314.
pub(crate) fn check_fields(
    ctx: &mut Ctx,
    template: &str,
    span: Span,
    input: &StreamType,
    options: &OptionMap,
    time_field_span: Option<Span>,
) {
    let Ok(parts) = parse(template) else { return };
    for part in &parts {
        if let Part::Field(name, offset) = part {
            if input.record.field(name).is_none() {
                let at = within(template, span, *offset, name.len());
                let mut diag = exprs::unknown_field(name, at, &input.record);
                diag.code = "E0313";
                diag.message = format!("the path uses `%{{{name}}}`, but records have no field `{name}`");
                diag.primary.message = "unknown field in path".into();
                ctx.diags.push(diag);
            }
        }
    }
    let uses_time = parts.iter().any(|p| matches!(p, Part::Time(_)));
    let local = matches!(options.get("use_local_time"), Some(OptionValue::Bool(true)));
    let time_field = match options.get("time_field") {
        Some(OptionValue::Word(f)) => Some(f.as_str()),
        _ => None,
    };
    if let Some(field) = time_field {
        if let Some(f) = input.record.field(field) {
            if !matches!(f.ty.base(), Type::Timestamp | Type::Error) {
                ctx.diags.push(
                    Diagnostic::error(
                        "E0314",
                        format!("`time_field = {field}` names the field `{field}: {}`, not a timestamp", f.ty),
                    )
                    .at(time_field_span.unwrap_or(span), "not a timestamp")
                    .help("name a field of type timestamp, or parse the time into one"),
                );
            }
        }
        return;
    }
    if !uses_time || local {
        return;
    }
    let stamps: Vec<&str> = input
        .record
        .fields
        .iter()
        .filter(|f| matches!(f.ty.base(), Type::Timestamp))
        .map(|f| f.name.as_str())
        .collect();
    // One timestamp field is the event's time, unambiguously; none or several need a choice.
    if stamps.len() == 1 {
        return;
    }
    let help = match stamps.as_slice() {
        [] => "these records carry no timestamp: bucket by arrival time with `use_local_time = true`, or parse a timestamp field".to_string(),
        several => format!(
            "the records have several timestamps ({}): choose one with `time_field = {}`, or bucket by arrival time with `use_local_time = true`",
            several.join(", "),
            several[0]
        ),
    };
    ctx.diags.push(
        Diagnostic::error("E0314", "the path has time escapes, but no time is chosen to fill them")
            .at(span, "time escapes used here")
            .help(help),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_parts() {
        let parts = parse("out/%Y-%m/%{host}/x%%").unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Literal("out/".into()),
                Part::Time('Y'),
                Part::Literal("-".into()),
                Part::Time('m'),
                Part::Literal("/".into()),
                Part::Field("host".into(), 12),
                Part::Literal("/x%".into()),
            ]
        );
        assert_eq!(parse("a/%Q/").unwrap_err(), (2, "%Q".into()));
        assert!(parse("a/%{host").is_err());
    }
}
