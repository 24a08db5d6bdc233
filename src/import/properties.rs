//! Java `.properties` files as `java.util.Properties.load` reads them, keeping each key's line.

/// One `key = value` entry: the key and value unescaped, the line its logical line starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

/// Parses the text of a properties file: `#`/`!` comment lines, `key=value`, `key = value`,
/// `key:value` and `key value`, lines continued by a trailing odd number of backslashes, and the
/// escapes `\t \n \r \f \uXXXX` (any other `\c` is `c`). Entries come in file order; a key given twice
/// appears twice (the last one is the one Java keeps).
pub fn parse(text: &str) -> Vec<Property> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = i;
        let start = lines[i].trim_start_matches([' ', '\t', '\u{c}']);
        i += 1;
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        // Join continuation lines (leading white space of each continuation is dropped).
        let mut logical = String::new();
        let mut part = start;
        loop {
            let trailing = part.chars().rev().take_while(|c| *c == '\\').count();
            if trailing % 2 == 1 && i < lines.len() {
                logical.push_str(&part[..part.len() - 1]);
                part = lines[i].trim_start_matches([' ', '\t', '\u{c}']);
                i += 1;
            } else {
                if trailing % 2 == 1 {
                    logical.push_str(&part[..part.len() - 1]);
                } else {
                    logical.push_str(part);
                }
                break;
            }
        }
        let (key, value) = split_key(&logical);
        out.push(Property { key: unescape(key), value: unescape(value), line: first + 1 });
    }
    out
}

/// Splits a logical line at the first unescaped `=`, `:` or white space.
fn split_key(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => k += 1,
        }
    }
    let k = k.min(bytes.len());
    let key = &line[..k];
    let mut rest = line[k..].trim_start_matches([' ', '\t', '\u{c}']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\u{c}']);
    }
    (key, rest)
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        out.push(ch);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    _ => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String, usize)> {
        parse(text).into_iter().map(|p| (p.key, p.value, p.line)).collect()
    }

    #[test]
    fn separators_comments_and_lines() {
        let text = "# c\n! c\n\na=1\nb = 2\nc:3\n  d   4\ne\n";
        assert_eq!(
            kv(text),
            vec![
                ("a".into(), "1".into(), 4),
                ("b".into(), "2".into(), 5),
                ("c".into(), "3".into(), 6),
                ("d".into(), "4".into(), 7),
                ("e".into(), "".into(), 8)
            ]
        );
    }

    #[test]
    fn continuations_and_escapes() {
        let text = "cmd = tail \\\n    -F x\\\\\nk\\ ey = a\\tb\\u0041\\=\nx = 1 \\\\\\\n  2\n";
        assert_eq!(
            kv(text),
            vec![
                ("cmd".into(), "tail -F x\\".into(), 1),
                ("k ey".into(), "a\tbA=".into(), 3),
                ("x".into(), "1 \\2".into(), 4)
            ]
        );
    }

    #[test]
    fn an_inline_note_is_part_of_the_value() {
        assert_eq!(kv("a = tail -F x //watch the log\r\n")[0].1, "tail -F x //watch the log");
    }
}
