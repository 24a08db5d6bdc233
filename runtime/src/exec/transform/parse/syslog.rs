//! `parse syslog`: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and RFC 3164
//! (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`) messages, told apart per line, scanned in place.
//!
//! RFC 5424's `-` is absent (null). RFC 3164 has no year or zone: its time is taken as UTC in the
//! current year (the year before when that would be more than a day ahead); its host and tag are
//! optional (local `/dev/log` messages carry neither), as is the priority (lines of `/var/log/syslog`
//! have none). Whatever follows the header is the message, a byte-order mark before it removed.

use super::time::days_from_civil;
use super::{text_value, Step, Val, Why};
use crate::exec::RunError;
use arrow_schema::SchemaRef;
use chrono::Datelike;
use memchr::memchr;
use std::borrow::Cow;

/// How `parse syslog` reads lines into a type.
#[derive(Debug)]
pub(crate) struct Syslog {
    slots: Vec<Slot>,
}

/// A part of a syslog message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Ts,
    Host,
    App,
    Pid,
    Procid,
    Msgid,
    Severity,
    Facility,
    Priority,
    Version,
    StructuredData,
    Message,
}

const SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// One message, split; every part borrowed from the line.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Message<'a> {
    pub(crate) priority: Option<u8>,
    pub(crate) version: Option<i64>,
    /// Milliseconds since the epoch.
    pub(crate) ts: Option<i64>,
    pub(crate) host: Option<&'a str>,
    pub(crate) app: Option<&'a str>,
    pub(crate) procid: Option<&'a str>,
    pub(crate) msgid: Option<&'a str>,
    pub(crate) structured_data: Option<&'a str>,
    pub(crate) message: &'a str,
}

impl Syslog {
    pub(crate) fn new(schema: &SchemaRef) -> Result<Syslog, RunError> {
        let slots = schema
            .fields()
            .iter()
            .map(|f| {
                Ok(match f.name().as_str() {
                    "ts" => Slot::Ts,
                    "host" => Slot::Host,
                    "app" => Slot::App,
                    "pid" => Slot::Pid,
                    "procid" => Slot::Procid,
                    "msgid" => Slot::Msgid,
                    "severity" => Slot::Severity,
                    "facility" => Slot::Facility,
                    "priority" => Slot::Priority,
                    "version" => Slot::Version,
                    "structured_data" => Slot::StructuredData,
                    "message" => Slot::Message,
                    other => return Err(RunError::internal(format!("`parse syslog` has no field `{other}`"))),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Syslog { slots })
    }

    pub(super) fn fill<'a>(&self, text: &'a str, schema: &SchemaRef, row: &mut Vec<Val<'a>>) -> Result<Step, Why> {
        let m = scan(text).ok_or(Why::NotSyslog)?;
        for (i, (slot, field)) in self.slots.iter().zip(schema.fields()).enumerate() {
            let int = |v: Option<i64>| match v {
                Some(v) => Ok(Val::Int(v)),
                None if field.is_nullable() => Ok(Val::Null),
                None => Err(Why::Field(i)),
            };
            let text = |v: Option<&'a str>| text_value(v.map(Cow::Borrowed), field, false).map_err(|()| Why::Field(i));
            row.push(match slot {
                Slot::Ts => int(m.ts)?,
                Slot::Pid => int(m.procid.and_then(|p| p.parse().ok()))?,
                Slot::Priority => int(m.priority.map(i64::from))?,
                Slot::Version => int(m.version)?,
                Slot::Host => text(m.host)?,
                Slot::App => text(m.app)?,
                Slot::Procid => text(m.procid)?,
                Slot::Msgid => text(m.msgid)?,
                Slot::Severity => text(m.priority.map(|p| SEVERITIES[usize::from(p % 8)]))?,
                Slot::Facility => text(m.priority.and_then(|p| FACILITIES.get(usize::from(p / 8)).copied()))?,
                Slot::StructuredData => text(m.structured_data)?,
                Slot::Message => text(Some(m.message))?,
            });
        }
        Ok(Step::Row)
    }
}

/// Splits one syslog line; `None` when it is not one.
pub(crate) fn scan(text: &str) -> Option<Message<'_>> {
    let b = text.as_bytes();
    let (priority, at) = match b.first() {
        Some(b'<') => {
            let close = 1 + memchr(b'>', &b[1..b.len().min(5)])?;
            let digits = &text[1..close];
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let p: u8 = digits.parse().ok().filter(|p| *p <= 191)?;
            (Some(p), close + 1)
        }
        _ => (None, 0),
    };
    let version_len = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    if priority.is_some() && (1..=3).contains(&version_len) && b.get(at + version_len) == Some(&b' ') && b[at] != b'0' {
        return rfc5424(text, priority, at, version_len);
    }
    rfc3164(text, priority, at)
}

/// A header word of RFC 5424 from `at`: the text to the next space (`None` for `-`) and where the
/// next word starts; `None` when no space follows.
fn header_word(text: &str, at: usize) -> Option<(Option<&str>, usize)> {
    let end = at + memchr(b' ', text.as_bytes().get(at..)?)?;
    let word = &text[at..end];
    if word.is_empty() {
        return None;
    }
    Some(((word != "-").then_some(word), end + 1))
}

fn rfc5424(text: &str, priority: Option<u8>, at: usize, version_len: usize) -> Option<Message<'_>> {
    let b = text.as_bytes();
    let version = text[at..at + version_len].parse().ok();
    let (ts, at) = header_word(text, at + version_len + 1)?;
    let ts = match ts {
        None => None,
        Some(t) => Some(chrono::DateTime::parse_from_rfc3339(t).ok()?.timestamp_millis()),
    };
    let (host, at) = header_word(text, at)?;
    let (app, at) = header_word(text, at)?;
    let (procid, at) = header_word(text, at)?;
    let (msgid, at) = header_word(text, at)?;
    let (structured_data, end) = match b.get(at) {
        Some(b'-') => (None, at + 1),
        Some(b'[') => {
            let end = structured_end(b, at)?;
            (Some(&text[at..end]), end)
        }
        _ => return None,
    };
    let message = match b.get(end) {
        None => "",
        Some(b' ') => strip_bom(&text[end + 1..]),
        Some(_) => return None,
    };
    Some(Message { priority, version, ts, host, app, procid, msgid, structured_data, message })
}

/// The end of RFC 5424 structured data starting at `at` (a `[`): one or more `[id param="value"]`
/// elements, `\"`, `\\` and `\]` escaped inside values.
fn structured_end(b: &[u8], mut at: usize) -> Option<usize> {
    while b.get(at) == Some(&b'[') {
        at += 1;
        let mut quoted = false;
        loop {
            match *b.get(at)? {
                b'\\' if quoted => at += 2,
                b'"' => {
                    quoted = !quoted;
                    at += 1;
                }
                b']' if !quoted => {
                    at += 1;
                    break;
                }
                _ => at += 1,
            }
        }
    }
    Some(at)
}

fn strip_bom(message: &str) -> &str {
    message.strip_prefix('\u{feff}').unwrap_or(message)
}

fn rfc3164(text: &str, priority: Option<u8>, at: usize) -> Option<Message<'_>> {
    let b = text.as_bytes();
    let (ts, at) = match bsd_time(&b[at..]) {
        Some(ts) => (Some(ts), at + 16),
        None => match rfc3339_word(text, at) {
            Some((ts, next)) => (Some(ts), next),
            // With a priority but no time, the rest is the message (RFC 3164 4.3.3); without either
            // the line is not syslog.
            None if priority.is_some() => {
                return Some(Message { priority, message: strip_bom(&text[at..]), ..Message::default() })
            }
            None => return None,
        },
    };
    let mut m = Message { priority, ts, message: "", ..Message::default() };
    let mut at = at;
    // HOST, unless the first word is already the tag.
    if let Some(end) = memchr(b' ', &b[at..]).map(|i| at + i) {
        let word = &text[at..end];
        if !word.is_empty() && !is_tag(word) {
            m.host = Some(word);
            at = end + 1;
        }
    }
    // TAG[PID]: or TAG:
    let end = memchr(b' ', &b[at..]).map_or(b.len(), |i| at + i);
    let word = &text[at..end];
    if is_tag(word) {
        let word = word.strip_suffix(':').unwrap_or(word);
        match word.find('[') {
            Some(open) => {
                m.app = Some(&word[..open]).filter(|a| !a.is_empty());
                m.procid = word[open + 1..].strip_suffix(']').filter(|p| !p.is_empty());
            }
            None => m.app = Some(word),
        }
        at = (end + 1).min(b.len());
    }
    m.message = strip_bom(&text[at..]);
    Some(m)
}

/// Whether a word is a tag: `app:`, `app[pid]:` or `app[pid]`.
fn is_tag(word: &str) -> bool {
    let w = word.strip_suffix(':');
    match w {
        Some(w) => !w.is_empty() && (!w.contains('[') || (w.ends_with(']') && !w.starts_with('['))),
        None => word.ends_with(']') && word.find('[').is_some_and(|i| i > 0),
    }
}

/// `Mmm dd hh:mm:ss ` (the day padded with a space or a zero) at the start of `b`, in UTC and in the
/// current year (the one before when that would put it more than a day ahead).
fn bsd_time(b: &[u8]) -> Option<i64> {
    if b.len() < 16 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' || b[15] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| m[..] == b[0..3])? as i64 + 1;
    let day = match (b[4], b[5]) {
        (b' ', d) if d.is_ascii_digit() => i64::from(d - b'0'),
        (t, d) if t.is_ascii_digit() && d.is_ascii_digit() => i64::from(t - b'0') * 10 + i64::from(d - b'0'),
        _ => return None,
    };
    let two = |i: usize| -> Option<i64> {
        (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
            .then(|| i64::from(b[i] - b'0') * 10 + i64::from(b[i + 1] - b'0'))
    };
    let (hour, minute, second) = (two(7)?, two(10)?, two(13)?);
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let now = chrono::Utc::now();
    let at = |year: i64| (days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000;
    let year = i64::from(now.year());
    let ms = at(year);
    Some(if ms > now.timestamp_millis() + 86_400_000 { at(year - 1) } else { ms })
}

/// An RFC 3339 time as the first word from `at` (rsyslog's high-precision format) and where the
/// next word starts.
fn rfc3339_word(text: &str, at: usize) -> Option<(i64, usize)> {
    let b = text.as_bytes();
    if !b.get(at..at + 4)?.iter().all(u8::is_ascii_digit) || b.get(at + 4) != Some(&b'-') {
        return None;
    }
    let end = at + memchr(b' ', &b[at..])?;
    let t = chrono::DateTime::parse_from_rfc3339(&text[at..end]).ok()?;
    Some((t.timestamp_millis(), end + 1))
}

#[cfg(test)]
mod tests;
