//! A small lexical pre-pass: splits a file into statements, bounds nesting, finds unterminated strings.
//!
//! pest recurses once per nesting level and does not bound it, so depth is checked here first, and the
//! statement boundaries found here let one broken statement be reported without hiding the others.

use super::keywords::{is_keyword, DECLARATION_KEYWORDS};
use crate::ast::{BrokenStmt, Ident};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// Deepest bracket (or `not`) nesting accepted before the parser runs.
pub(crate) const MAX_DEPTH: usize = 48;

/// One statement's bytes, and whether the pre-pass already found it broken.
pub(crate) struct Chunk {
    pub(crate) span: Span,
    pub(crate) broken: bool,
}

/// Splits `source` into statement chunks and reports lexical errors (E0102, E0105).
pub(crate) fn scan(source: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Chunk> {
    let bytes = source.as_bytes();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut chunk_start = 0usize;
    let mut broken = false;
    let mut stack: Vec<usize> = Vec::new();
    let mut not_run = 0usize;
    let mut at_line_start = true;
    let mut last_significant: u8 = b'\n';
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                at_line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = source[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            i = end;
            continue;
        }
        let line_start = at_line_start;
        at_line_start = false;
        // A declaration keyword followed by a name at the start of a line begins a statement even
        // inside an unclosed bracket: the bracket is what is broken, not everything after it.
        let forced = line_start && !stack.is_empty() && starts_declaration(source, i);
        if forced {
            stack.clear();
        }
        if line_start && stack.is_empty() && (forced || starts_statement(source, i, last_significant)) && i > 0 {
            if source[chunk_start..i].trim().is_empty() {
                chunk_start = i;
            } else {
                chunks.push(Chunk { span: Span::new(chunk_start, i), broken });
                chunk_start = i;
                broken = false;
            }
        }
        match b {
            b'"' => {
                let start = i;
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        b'\n' => break,
                        _ => i += 1,
                    }
                }
                i = i.min(bytes.len());
                if !closed {
                    broken = true;
                    // Brackets opened before the lost quote would swallow the statements below it.
                    stack.clear();
                    diagnostics.push(
                        Diagnostic::error("E0102", "unterminated string")
                            .at(Span::new(start, i), "this string has no closing `\"`")
                            .help("close the string with `\"` on the same line; write `\\n` for a newline inside it"),
                    );
                }
                last_significant = b'"';
                not_run = 0;
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push(i);
                if stack.len() == MAX_DEPTH + 1 {
                    broken = true;
                    diagnostics.push(too_deep(Span::new(i, i + 1)));
                }
            }
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if &source[start..i] == "not" {
                not_run += 1;
                if not_run == MAX_DEPTH + 1 {
                    broken = true;
                    diagnostics.push(too_deep(Span::new(start, i)));
                }
            } else {
                not_run = 0;
            }
            last_significant = b'a';
            continue;
        }
        not_run = 0;
        last_significant = b;
        i += source[i..].chars().next().map_or(1, char::len_utf8);
    }
    if !source[chunk_start..].trim().is_empty() || chunks.is_empty() {
        chunks.push(Chunk { span: Span::new(chunk_start, source.len()), broken });
    }
    chunks
}

/// The names a statement that did not parse declares and mentions (outside strings and comments).
pub(crate) fn salvage(source: &str, span: Span) -> BrokenStmt {
    let text = &source[span.start..span.end];
    let bytes = text.as_bytes();
    let mut words: Vec<Ident> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                i += 1;
            }
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = &text[start..i];
            words.push(Ident { name: name.to_string(), span: Span::new(span.start + start, span.start + i) });
        } else {
            i += 1;
        }
    }
    let mut declares = None;
    if words.len() >= 2 && DECLARATION_KEYWORDS.contains(&words[0].name.as_str()) && !is_keyword(&words[1].name) {
        words.remove(0);
        declares = Some(words.remove(0));
    }
    words.retain(|w| !is_keyword(&w.name));
    BrokenStmt { declares, mentions: words, span }
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error("E0105", format!("nesting deeper than {MAX_DEPTH} levels"))
        .at(span, "this opens one level too many")
        .help("flatten the expression or block; no pipeline needs this depth")
}

/// Where the last token of `text` ends: trailing white space and comments are not part of it.
pub(crate) fn code_len(text: &str) -> usize {
    // Fast path (most pairs): nothing after the last token can be trivia.
    let ends_in_trivia = text.ends_with(|c: char| c.is_ascii_whitespace() || c == '/');
    if !ends_in_trivia && !text.contains("//") {
        return text.len();
    }
    let bytes = text.as_bytes();
    let (mut i, mut end) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                end = i;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                end = i;
            }
        }
    }
    end.min(bytes.len())
}

/// Whether `type|topic|source|channel|sink NAME` starts at `i`.
fn starts_declaration(source: &str, i: usize) -> bool {
    let rest = &source[i..];
    let Some(word) = DECLARATION_KEYWORDS.iter().find(|w| rest.starts_with(**w)) else { return false };
    let after = &rest[word.len()..];
    let name = after.trim_start_matches([' ', '\t']);
    name.len() < after.len() && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// Whether the word at `i` (first on its line, outside brackets) begins a new statement.
fn starts_statement(source: &str, i: usize, last_significant: u8) -> bool {
    let rest = &source[i..];
    let word_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if word_len == 0 || rest.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    let word = &rest[..word_len];
    if DECLARATION_KEYWORDS.contains(&word) {
        return true;
    }
    if is_keyword(word) {
        return false;
    }
    // A bare name starts a pipeline unless the previous line ended mid-expression.
    !matches!(
        last_significant,
        b'=' | b',' | b'|' | b'>' | b'<' | b'-' | b'+' | b'*' | b'/' | b'%' | b'!' | b'~' | b':' | b'('
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(src: &str) -> Vec<&str> {
        let mut diags = Vec::new();
        scan(src, &mut diags).iter().map(|c| src[c.span.start..c.span.end].trim()).collect()
    }

    #[test]
    fn statements_split_at_line_starts() {
        let src = "source a = stdin {}\nsink b = logger {\n  x = 1\n}\na\n  -> b\n";
        assert_eq!(split(src), vec!["source a = stdin {}", "sink b = logger {\n  x = 1\n}", "a\n  -> b"]);
    }

    #[test]
    fn expression_continuations_stay_together() {
        let src = "a | where x == 1\n  and y == 2\n  -> b\nc -> d";
        assert_eq!(split(src), vec!["a | where x == 1\n  and y == 2\n  -> b", "c -> d"]);
    }

    #[test]
    fn an_unclosed_block_does_not_swallow_the_next_declaration() {
        let src = "source a = stdin {\nchannel c = file {}\nsource t = topic {\n  topic = x\n}\n";
        assert_eq!(split(src), vec!["source a = stdin {", "channel c = file {}", "source t = topic {\n  topic = x\n}"]);
    }

    #[test]
    fn trailing_trivia_is_not_code() {
        assert_eq!(code_len("where status >= 500\n\n// next\n"), 19);
        assert_eq!(code_len("a /* x */ b /* y */\n"), 11);
        assert_eq!(code_len("set s = \"// not a comment\"  "), 26);
        assert_eq!(code_len("set s = \"caf\u{e9}\""), 15);
        assert_eq!(code_len(""), 0);
    }

    #[test]
    fn deep_nesting_is_reported_once() {
        let src = format!("a | where {}x{}", "(".repeat(200), ")".repeat(200));
        let mut diags = Vec::new();
        let chunks = scan(&src, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "E0105");
        assert!(chunks[0].broken);
    }

    #[test]
    fn unterminated_string_is_reported() {
        let mut diags = Vec::new();
        scan("source a = exec { command = \"tail -F x }\nsink b = logger {}", &mut diags);
        assert_eq!(diags[0].code, "E0102");
    }
}
