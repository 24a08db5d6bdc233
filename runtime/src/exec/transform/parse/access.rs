//! `parse combined` and `parse common`: Apache's access-log formats read by a byte scanner, fields
//! borrowed from the line (copied only when Apache's `\"` and `\\` escapes are undone).
//!
//! `%h %l %u %t "%r" %>s %b` and, for combined, `"%{Referer}i" "%{User-agent}i"`; anything after
//! the last field is ignored. The request `%r` ends at the first unescaped `"` followed by a space
//! and a three-digit status. Its method is the first word and its protocol the last (a raw space
//! inside the path stays in the path); a request that is not `METHOD PATH [PROTOCOL]` — Apache's `-`
//! for a 408, a TLS handshake sent to the HTTP port — leaves method, path and protocol null.

use super::time::{parse_time_memo, Memo};
use super::{text_value, Col, Val, Why};
use crate::exec::RunError;
use arrow_schema::{DataType, SchemaRef};
use memchr::{memchr, memchr2, memrchr};
use std::borrow::Cow;

/// How `parse combined` / `parse common` reads lines into a type.
#[derive(Debug)]
pub(crate) struct Access {
    combined: bool,
    /// For each field of the type, the part of the line it takes and how it is read.
    fields: Vec<Plan>,
}

/// How one field of the type is read from its part of the line.
#[derive(Debug, Clone, Copy)]
struct Plan {
    slot: Slot,
    kind: Kind,
    nullable: bool,
}

/// What a field's type makes of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Taken as it is.
    Str,
    /// An int from the status or the bytes: digits, as the scan took them.
    Digits,
    /// A time.
    Time,
    /// Anything else, converted by [`text_value`].
    Other,
}

/// The parts of an access-log line: the most fields a type read from one can have.
const SLOTS: usize = 12;

/// A part of an access-log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Host,
    Ident,
    User,
    Ts,
    Request,
    Method,
    Path,
    Protocol,
    Status,
    Bytes,
    Referer,
    Agent,
}

impl Slot {
    fn named(name: &str, combined: bool) -> Option<Slot> {
        Some(match name {
            "host" => Slot::Host,
            "ident" => Slot::Ident,
            "user" => Slot::User,
            "ts" => Slot::Ts,
            "request" => Slot::Request,
            "method" => Slot::Method,
            "path" => Slot::Path,
            "protocol" => Slot::Protocol,
            "status" => Slot::Status,
            "bytes" => Slot::Bytes,
            "referer" if combined => Slot::Referer,
            "agent" if combined => Slot::Agent,
            _ => return None,
        })
    }
}

/// One line, split: every part borrowed from it unless an escape had to be undone.
#[derive(Debug, PartialEq)]
pub(crate) struct Line<'a> {
    pub(crate) host: &'a str,
    pub(crate) ident: &'a str,
    pub(crate) user: &'a str,
    pub(crate) ts: &'a str,
    /// The request as sent, unescaped.
    pub(crate) request: Cow<'a, str>,
    /// Where method, path and protocol are in `request`, when it has them.
    parts: Option<Parts>,
    pub(crate) status: &'a str,
    pub(crate) bytes: &'a str,
    pub(crate) referer: Option<Cow<'a, str>>,
    pub(crate) agent: Option<Cow<'a, str>>,
}

/// `METHOD PATH[ PROTOCOL]` in a request: the end of the method and of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    method_end: usize,
    path_end: usize,
}

impl Line<'_> {
    /// The text of one part of the line; `None` when the line has no such part.
    fn text(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::Host => Some(self.host),
            Slot::Ident => Some(self.ident),
            Slot::User => Some(self.user),
            Slot::Ts => Some(self.ts),
            Slot::Request => Some(&self.request),
            Slot::Method => self.parts.map(|p| &self.request[..p.method_end]),
            Slot::Path => self.parts.map(|p| &self.request[p.method_end + 1..p.path_end]),
            Slot::Protocol => {
                self.parts.filter(|p| p.path_end < self.request.len()).map(|p| &self.request[p.path_end + 1..])
            }
            Slot::Status => Some(self.status),
            Slot::Bytes => Some(self.bytes),
            Slot::Referer => self.referer.as_deref(),
            Slot::Agent => self.agent.as_deref(),
        }
    }
}

impl Access {
    pub(crate) fn new(combined: bool, schema: &SchemaRef) -> Result<Access, RunError> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| {
                let slot = Slot::named(f.name(), combined).ok_or_else(|| {
                    let format = if combined { "combined" } else { "common" };
                    RunError::internal(format!("`parse {format}` has no field `{}`", f.name()))
                })?;
                let kind = match f.data_type() {
                    DataType::Utf8 => Kind::Str,
                    DataType::Int64 if matches!(slot, Slot::Status | Slot::Bytes) => Kind::Digits,
                    DataType::Timestamp(..) => Kind::Time,
                    _ => Kind::Other,
                };
                Ok(Plan { slot, kind, nullable: f.is_nullable() })
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        if fields.len() > SLOTS {
            return Err(RunError::internal(format!("`parse` into {} fields of an access-log line", fields.len())));
        }
        Ok(Access { combined, fields })
    }

    /// Reads one line into the builders of the type's fields (`cols`, in order), or says why it
    /// does not fit; nothing is appended then (every value is converted before the first goes in).
    pub(super) fn append(&self, text: &str, schema: &SchemaRef, cols: &mut [Col], memo: &mut Memo) -> Result<(), Why> {
        let line = scan(text, self.combined).ok_or(Why::NoMatch)?;
        // Strings are only checked for presence here, and appended from the line below.
        let mut texts: [Option<&str>; SLOTS] = [None; SLOTS];
        let mut values: [Num; SLOTS] = [Num::Null; SLOTS];
        for (i, plan) in self.fields.iter().enumerate() {
            let text = line.text(plan.slot);
            let value = match (plan.kind, text) {
                (Kind::Str, None) if !plan.nullable => return Err(Why::Field(i)),
                (Kind::Str, text) => {
                    texts[i] = text;
                    continue;
                }
                (Kind::Digits, Some(text)) if text != "-" => decimal(text).map(Num::Int),
                (Kind::Time, Some(text)) if text != "-" => parse_time_memo(text, memo).map(Num::Int),
                // `-`, an absent part, another type: as `text_value` reads them.
                (_, text) => text_value(text.map(Cow::Borrowed), schema.field(i), true).ok().map(Num::of),
            };
            values[i] = value.ok_or(Why::Field(i))?;
        }
        for ((text, value), col) in texts.iter().zip(values).zip(cols.iter_mut()) {
            match col {
                Col::Str(b) => match text {
                    Some(text) => b.append_value(text),
                    None => b.append_null(),
                },
                col => col.append(value.into()),
            }
        }
        Ok(())
    }
}

/// A value of a field that is not a string: a small copy, nothing to drop.
#[derive(Debug, Clone, Copy)]
enum Num {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Num {
    fn of(value: Val<'_>) -> Num {
        match value {
            Val::Int(v) => Num::Int(v),
            Val::Float(v) => Num::Float(v),
            Val::Bool(v) => Num::Bool(v),
            Val::Null | Val::Str(_) => Num::Null,
        }
    }
}

impl From<Num> for Val<'static> {
    fn from(num: Num) -> Val<'static> {
        match num {
            Num::Null => Val::Null,
            Num::Int(v) => Val::Int(v),
            Num::Float(v) => Val::Float(v),
            Num::Bool(v) => Val::Bool(v),
        }
    }
}

/// The value of a non-empty run of ASCII digits, as `str::parse` reads it; `None` when it is not
/// one or does not fit.
fn decimal(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0i64, |n, &c| match c.is_ascii_digit() {
        true => n.checked_mul(10)?.checked_add(i64::from(c - b'0')),
        false => None,
    })
}

/// Splits one access-log line; `None` when it is not one.
pub(crate) fn scan(text: &str, combined: bool) -> Option<Line<'_>> {
    let b = text.as_bytes();
    let (host, at) = word(text, 0)?;
    let (ident, at) = word(text, at)?;
    let (user, at) = word(text, at)?;
    // `[` the time `] "`
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let close = at + 1 + memchr(b']', &b[at + 1..])?;
    let ts = &text[at + 1..close];
    if ts.is_empty() || b.get(close + 1..close + 3) != Some(b" \"") {
        return None;
    }
    let start = close + 3;
    let (end, escaped) = request_end(b, start)?;
    let raw = &text[start..end];
    let request = if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) };
    let parts = split_request(&request);
    let status = &text[end + 2..end + 5];
    let at = end + 6;
    let bytes_len = match b.get(at) {
        Some(b'-') => 1,
        Some(c) if c.is_ascii_digit() => b[at..].iter().take_while(|c| c.is_ascii_digit()).count(),
        _ => return None,
    };
    let bytes = &text[at..at + bytes_len];
    let (referer, agent) = if combined {
        let at = at + bytes_len;
        if b.get(at..at + 2) != Some(b" \"") {
            return None;
        }
        let (referer, at) = quoted(text, at + 2)?;
        if b.get(at..at + 2) != Some(b" \"") {
            return None;
        }
        let (agent, _) = quoted(text, at + 2)?;
        (Some(referer), Some(agent))
    } else {
        (None, None)
    };
    Some(Line { host, ident, user, ts, request, parts, status, bytes, referer, agent })
}

/// A non-empty word without white space from `at` to the next space, and where the next one starts.
fn word(text: &str, at: usize) -> Option<(&str, usize)> {
    let rest = text.as_bytes().get(at..)?;
    // Words are short (a host, `-`): a plain loop, telling on the way whether every byte is
    // printable ASCII, beats a call to memchr and a second pass.
    let mut printable = true;
    let mut len = 0;
    loop {
        let c = *rest.get(len)?;
        if c == b' ' {
            break;
        }
        printable &= (b'!'..0x7f).contains(&c);
        len += 1;
    }
    let word = &text[at..at + len];
    (len > 0 && (printable || !has_space(word))).then_some((word, at + len + 1))
}

/// Whether a text holds white space (Unicode's, as `\s` means).
fn has_space(s: &str) -> bool {
    !printable(s.as_bytes(), false)
        && (s.bytes().any(|c| matches!(c, b'\t'..=b'\r' | b' '))
            || (!s.is_ascii() && s.chars().any(char::is_whitespace)))
}

/// Whether every byte is printable ASCII other than the space (or the space too, with `spaces`):
/// what almost every part of a real line is, told in one pass before the exact look at white space.
fn printable(b: &[u8], spaces: bool) -> bool {
    let low = if spaces { b' ' } else { b'!' };
    b.iter().fold(true, |ok, &c| ok & (c >= low) & (c < 0x7f))
}

/// Where the request that starts at `start` ends (its closing quote: the first not escaped by a
/// backslash and followed by ` NNN `), and whether it holds backslash escapes.
fn request_end(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut at = start;
    let mut escaped = false;
    loop {
        let i = at + memchr2(b'"', b'\\', &b[at..])?;
        if b[i] == b'\\' {
            escaped = true;
            at = i + 2;
            if at > b.len() {
                return None;
            }
            continue;
        }
        let after = b.get(i + 1..i + 6)?;
        if after[0] == b' ' && after[1..4].iter().all(u8::is_ascii_digit) && after[4] == b' ' {
            return Some((i, escaped));
        }
        at = i + 1;
    }
}

/// A quoted field's text from `at` (just after its opening quote) to its closing quote, unescaped,
/// and the position after that quote.
fn quoted(text: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    let mut i = at;
    let mut escaped = false;
    loop {
        let j = i + memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[j] == b'\\' {
            // A backslash takes the next character whatever it is.
            escaped = true;
            i = j + 1 + text[j + 1..].chars().next()?.len_utf8();
            continue;
        }
        let raw = &text[at..j];
        let value = if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) };
        return Some((value, j + 1));
    }
}

/// Apache's escapes undone: `\"` is `"` and `\\` is `\`; any other backslash stays as written (`\x16`).
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('"' | '\\')) => out.push(e),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `METHOD PATH[ PROTOCOL]`: the method is the first word, the protocol the last, the path all
/// between (spaces included); `None` when the request is not of that shape.
fn split_request(request: &str) -> Option<Parts> {
    let b = request.as_bytes();
    let method_end = b.iter().position(|&c| c == b' ')?;
    let path_end = method_end + 1 + memrchr(b' ', &b[method_end + 1..]).unwrap_or(b.len() - method_end - 1);
    let method = &request[..method_end];
    let path = &request[method_end + 1..path_end];
    if method.is_empty() || path.is_empty() {
        return None;
    }
    // Printable ASCII throughout (as almost every request is): no white space but the spaces, and
    // the method has none of those.
    let ok = printable(b, true) || (!has_space(method) && !path.split(' ').any(has_space));
    ok.then_some(Parts { method_end, path_end })
}

#[cfg(test)]
mod tests;
