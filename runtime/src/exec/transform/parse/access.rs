//! `parse combined` and `parse common`: Apache's access-log formats read by a byte scanner, fields
//! borrowed from the line (copied only when Apache's `\"` and `\\` escapes are undone).
//!
//! `%h %l %u %t "%r" %>s %b` and, for combined, `"%{Referer}i" "%{User-agent}i"`; anything after
//! the last field is ignored. The request `%r` ends at the first unescaped `"` followed by a space
//! and a three-digit status. Its method is the first word and its protocol the last (a raw space
//! inside the path stays in the path); a request that is not `METHOD PATH [PROTOCOL]` — Apache's `-`
//! for a 408, a TLS handshake sent to the HTTP port — leaves method, path and protocol null.

use super::{text_value, Step, Val, Why};
use crate::exec::RunError;
use arrow_schema::SchemaRef;
use memchr::{memchr, memchr2, memrchr};
use std::borrow::Cow;

/// How `parse combined` / `parse common` reads lines into a type.
#[derive(Debug)]
pub(crate) struct Access {
    combined: bool,
    /// For each field of the type, the part of the line it takes.
    slots: Vec<Slot>,
}

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

impl<'a> Line<'a> {
    pub(crate) fn method(&self) -> Option<Cow<'a, str>> {
        self.parts.map(|p| part(&self.request, 0, p.method_end))
    }

    pub(crate) fn path(&self) -> Option<Cow<'a, str>> {
        self.parts.map(|p| part(&self.request, p.method_end + 1, p.path_end))
    }

    pub(crate) fn protocol(&self) -> Option<Cow<'a, str>> {
        self.parts
            .filter(|p| p.path_end < self.request.len())
            .map(|p| part(&self.request, p.path_end + 1, self.request.len()))
    }
}

/// `text[from..to]` of a borrowed or unescaped text, borrowed when the text is.
fn part<'a>(text: &Cow<'a, str>, from: usize, to: usize) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[from..to]),
        Cow::Owned(s) => Cow::Owned(s[from..to].to_string()),
    }
}

impl Access {
    pub(crate) fn new(combined: bool, schema: &SchemaRef) -> Result<Access, RunError> {
        let slots = schema
            .fields()
            .iter()
            .map(|f| {
                Slot::named(f.name(), combined).ok_or_else(|| {
                    let format = if combined { "combined" } else { "common" };
                    RunError::internal(format!("`parse {format}` has no field `{}`", f.name()))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Access { combined, slots })
    }

    pub(super) fn fill<'a>(&self, text: &'a str, schema: &SchemaRef, row: &mut Vec<Val<'a>>) -> Result<Step, Why> {
        let line = scan(text, self.combined).ok_or(Why::NoMatch)?;
        for (i, (slot, field)) in self.slots.iter().zip(schema.fields()).enumerate() {
            let value = match slot {
                Slot::Host => Some(Cow::Borrowed(line.host)),
                Slot::Ident => Some(Cow::Borrowed(line.ident)),
                Slot::User => Some(Cow::Borrowed(line.user)),
                Slot::Ts => Some(Cow::Borrowed(line.ts)),
                Slot::Request => Some(line.request.clone()),
                Slot::Method => line.method(),
                Slot::Path => line.path(),
                Slot::Protocol => line.protocol(),
                Slot::Status => Some(Cow::Borrowed(line.status)),
                Slot::Bytes => Some(Cow::Borrowed(line.bytes)),
                Slot::Referer => line.referer.clone(),
                Slot::Agent => line.agent.clone(),
            };
            row.push(text_value(value, field, true).map_err(|()| Why::Field(i))?);
        }
        Ok(Step::Row)
    }
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
    let end = at + memchr(b' ', rest)?;
    let word = &text[at..end];
    (!word.is_empty() && !has_space(word)).then_some((word, end + 1))
}

/// Whether a text holds white space (Unicode's, as `\s` means).
fn has_space(s: &str) -> bool {
    !printable(s.as_bytes(), false)
        && (s.bytes().any(|c| matches!(c, b'\t'..=b'\r' | b' ')) || (!s.is_ascii() && s.chars().any(char::is_whitespace)))
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
    let method_end = memchr(b' ', b)?;
    let path_end = method_end + 1 + memrchr(b' ', &b[method_end + 1..]).unwrap_or(b.len() - method_end - 1);
    let method = &request[..method_end];
    let path = &request[method_end + 1..path_end];
    let path_ok =
        !path.is_empty() && (printable(path.as_bytes(), true) || !path.split(' ').any(has_space));
    (!method.is_empty() && !has_space(method) && path_ok).then_some(Parts { method_end, path_end })
}

#[cfg(test)]
mod tests;