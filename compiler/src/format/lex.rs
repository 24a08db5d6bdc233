//! The formatter's tokens: the file's own text in pieces, with the white space before each.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    Str,
    Num,
    Punct,
    LineComment,
    BlockComment,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Tok<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
    pub(super) start: usize,
    /// Line breaks between the previous token and this one.
    pub(super) nl_before: usize,
    /// Whether any white space separates it from the previous token.
    pub(super) space_before: bool,
}

impl Tok<'_> {
    pub(super) fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }

    pub(super) fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }
}

const TWO_CHAR: &[&str] = &["->", "=>", "==", "!=", "<=", ">=", "=~", "!~"];

/// Splits `src` into tokens. Total: any text gives tokens (unknown characters are one-char tokens).
pub(super) fn lex(src: &str) -> Vec<Tok<'_>> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut nl = 0;
    let mut space = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                nl += 1;
                space = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                space = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        if src[i..].starts_with('\u{FEFF}') {
            space = true;
            i += '\u{FEFF}'.len_utf8();
            continue;
        }
        let start = i;
        let kind = if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(bytes.len(), |p| i + p);
            Kind::LineComment
        } else if src[i..].starts_with("/*") {
            i = src[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            Kind::BlockComment
        } else if b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            Kind::Str
        } else if b.is_ascii_digit() {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
            {
                i += 1;
            }
            Kind::Num
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Word
        } else {
            i += TWO_CHAR
                .iter()
                .find(|p| src[i..].starts_with(**p))
                .map_or_else(|| src[i..].chars().next().map_or(1, char::len_utf8), |p| p.len());
            Kind::Punct
        };
        // Keep a comment's text without the line's trailing white space.
        let text = if kind == Kind::LineComment { src[start..i].trim_end() } else { &src[start..i] };
        out.push(Tok { kind, text, start, nl_before: nl, space_before: space });
        nl = 0;
        space = false;
    }
    out
}
