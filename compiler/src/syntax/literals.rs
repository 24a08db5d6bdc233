//! Literal decoding: string escapes and `${ENV}`, integers with `_`, durations and sizes with units.

use crate::ast::{Ident, StrLit, ValueKind};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::suggest::did_you_mean;

/// A unit of a duration or size literal: how it is written, what it is worth, what it means.
/// The one table of units: the checker, the executor's defaults, completion and the console tools read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub name: &'static str,
    /// Milliseconds (durations) or bytes (sizes).
    pub scale: u64,
    pub doc: &'static str,
}

const fn unit(name: &'static str, scale: u64, doc: &'static str) -> Unit {
    Unit { name, scale, doc }
}

/// Duration units and their length in milliseconds.
pub const DURATION_UNITS: &[Unit] = &[
    unit("ms", 1, "milliseconds"),
    unit("s", 1_000, "seconds"),
    unit("m", 60_000, "minutes"),
    unit("h", 3_600_000, "hours"),
    unit("d", 86_400_000, "days"),
    unit("w", 604_800_000, "weeks"),
];

/// Size units and their length in bytes.
pub const SIZE_UNITS: &[Unit] = &[
    unit("B", 1, "bytes"),
    unit("KB", 1_000, "1,000 bytes"),
    unit("KiB", 1 << 10, "1,024 bytes"),
    unit("MB", 1_000_000, "10⁶ bytes"),
    unit("MiB", 1 << 20, "2²⁰ bytes"),
    unit("GB", 1_000_000_000, "10⁹ bytes"),
    unit("GiB", 1 << 30, "2³⁰ bytes"),
    unit("TB", 1_000_000_000_000, "10¹² bytes"),
    unit("TiB", 1 << 40, "2⁴⁰ bytes"),
];

/// The scale of unit `name` in `units`.
pub fn scale_of(units: &[Unit], name: &str) -> Option<u64> {
    units.iter().find(|u| u.name == name).map(|u| u.scale)
}

/// `ms, s, m, …`, for messages.
fn names(units: &[Unit]) -> String {
    units.iter().map(|u| u.name).collect::<Vec<_>>().join(", ")
}

/// Decodes the inside of a string literal whose contents start at byte `start`.
pub(crate) fn string(inner: &str, start: usize, diags: &mut Vec<Diagnostic>) -> StrLit {
    let mut value = String::with_capacity(inner.len());
    let mut env = Vec::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '0' => value.push('\0'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    '$' => value.push('$'),
                    other => {
                        // Keep the text as written so a regular expression built from it is checked
                        // as meant (`\S` stays `\S`), not reported a second time.
                        value.push('\\');
                        value.push(other);
                        diags.push(
                            Diagnostic::error("E0106", format!("unknown escape `\\{other}`"))
                                .at(Span::new(start + i, start + i + 1 + other.len_utf8()), "not an escape flowc knows")
                                .help(format!(
                                    "write `\\\\{other}` for a backslash followed by `{other}` (paths, regular expressions); \
                                     the escapes are \\n \\t \\r \\0 \\\\ \\\" and \\$"
                                )),
                        );
                    }
                }
            }
            '$' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                let name_start = i + 2;
                let mut name_end = None;
                for (j, c) in chars.by_ref() {
                    if c == '}' {
                        name_end = Some(j);
                        break;
                    }
                }
                let Some(end) = name_end else {
                    diags.push(
                        Diagnostic::error("E0107", "`${` is never closed")
                            .at(Span::new(start + i, start + inner.len()), "this interpolation has no `}`")
                            .help("write `${NAME}`, or `\\${` for a literal `${`"),
                    );
                    break;
                };
                let name = &inner[name_start..end];
                let valid = !name.is_empty()
                    && !name.as_bytes()[0].is_ascii_digit()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                let span = Span::new(start + i, start + end + 1);
                if valid {
                    env.push(Ident { name: name.to_string(), span });
                    value.push_str(&inner[i..=end]);
                } else {
                    diags.push(
                        Diagnostic::error("E0107", format!("`{name}` is not an environment variable name"))
                            .at(span, "this interpolation is not a valid name")
                            .help("environment names are letters, digits and `_`, not starting with a digit: `${AWS_REGION}`"),
                    );
                }
            }
            c => value.push(c),
        }
    }
    StrLit { value, env }
}

/// Decodes an integer literal (`10_000`, `-5`).
pub(crate) fn int(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> ValueKind {
    match text.replace('_', "").parse::<i64>() {
        Ok(n) => ValueKind::Int(n),
        Err(_) => {
            diags.push(out_of_range(span, text));
            ValueKind::Error
        }
    }
}

pub(crate) fn float(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> ValueKind {
    match text.replace('_', "").parse::<f64>() {
        Ok(n) if n.is_finite() => ValueKind::Float(n),
        _ => {
            diags.push(out_of_range(span, text));
            ValueKind::Error
        }
    }
}

fn out_of_range(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0103", format!("`{text}` does not fit in a 64-bit number"))
        .at(span, "this number is too large")
        .help("numbers range from -9223372036854775808 to 9223372036854775807")
}

/// Decodes a number with a unit: a duration (`3s`) or a size (`20B`).
pub(crate) fn quantity(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> ValueKind {
    let unit_at = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let number = number.replace('_', "");
    let negative = number.starts_with('-');
    let Ok(amount) = number.parse::<f64>() else {
        diags.push(out_of_range(span, text));
        return ValueKind::Error;
    };
    let scaled = |factor: u64| -> Option<u64> {
        let value = amount * factor as f64;
        (value.is_finite() && value.abs() < 9.0e18).then_some(value.abs().round() as u64)
    };
    if let Some(factor) = scale_of(DURATION_UNITS, unit) {
        return match scaled(factor) {
            Some(ms) if !negative => ValueKind::Duration(ms),
            Some(_) => negative_quantity(span, text, diags),
            None => {
                diags.push(out_of_range(span, text));
                ValueKind::Error
            }
        };
    }
    if let Some(factor) = scale_of(SIZE_UNITS, unit) {
        return match scaled(factor) {
            Some(bytes) if !negative => ValueKind::Size(bytes),
            Some(_) => negative_quantity(span, text, diags),
            None => {
                diags.push(out_of_range(span, text));
                ValueKind::Error
            }
        };
    }
    let candidates = DURATION_UNITS.iter().chain(SIZE_UNITS).map(|u| u.name);
    let hint = did_you_mean(unit, candidates)
        .or_else(|| guess_unit(unit))
        .map(|u| format!("did you mean `{}{u}`? ", &text[..unit_at]))
        .unwrap_or_default();
    let unit_span = Span::new(span.start + unit_at, span.end);
    diags.push(
        Diagnostic::error("E0104", format!("unknown unit `{unit}`"))
            .at(unit_span, "not a duration or size unit")
            .help(format!("{hint}durations take {}; sizes take {}", names(DURATION_UNITS), names(SIZE_UNITS))),
    );
    ValueKind::Error
}

fn negative_quantity(span: Span, text: &str, diags: &mut Vec<Diagnostic>) -> ValueKind {
    diags.push(
        Diagnostic::error("E0305", format!("`{text}` is negative"))
            .at(span, "durations and sizes cannot be negative")
            .help("write a positive amount"),
    );
    ValueKind::Error
}

/// Common spellings of units from other tools.
fn guess_unit(unit: &str) -> Option<&'static str> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "sec" | "secs" | "second" | "seconds" => "s",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "day" | "days" => "d",
        "week" | "weeks" => "w",
        "millis" | "msec" | "milliseconds" => "ms",
        "b" | "byte" | "bytes" => "B",
        "k" | "kb" => "KiB",
        "m" | "mb" => "MiB",
        "g" | "gb" => "GiB",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> (ValueKind, Vec<&'static str>) {
        let mut diags = Vec::new();
        let v = quantity(text, Span::new(0, text.len()), &mut diags);
        (v, diags.iter().map(|d| d.code).collect())
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(q("3s").0, ValueKind::Duration(3_000));
        assert_eq!(q("10m").0, ValueKind::Duration(600_000));
        assert_eq!(q("168h").0, ValueKind::Duration(168 * 3_600_000));
        assert_eq!(q("1.5s").0, ValueKind::Duration(1_500));
        assert_eq!(q("20B").0, ValueKind::Size(20));
        assert_eq!(q("64KiB").0, ValueKind::Size(65_536));
        assert_eq!(q("128MiB").0, ValueKind::Size(128 << 20));
    }

    #[test]
    fn unknown_units_suggest() {
        let mut diags = Vec::new();
        quantity("10mins", Span::new(0, 6), &mut diags);
        assert_eq!(diags[0].code, "E0104");
        assert!(diags[0].help.as_deref().unwrap().contains("`10m`"), "{:?}", diags[0].help);
    }

    #[test]
    fn strings_unescape_and_collect_env() {
        let mut diags = Vec::new();
        let s = string(r#"a\tb ${HOME}/x \q"#, 1, &mut diags);
        assert_eq!(s.value, "a\tb ${HOME}/x \\q");
        assert_eq!(s.env[0].name, "HOME");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "E0106");
    }
}
