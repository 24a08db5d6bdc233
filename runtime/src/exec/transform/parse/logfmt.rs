//! `parse logfmt`: `key=value` pairs separated by spaces (`level=info msg="took 3 ms" cached`), each
//! key filling the field of its name; values quoted or bare, escapes in quotes undone, a bare key
//! `true` for a bool field and empty text for a string one.
//!
//! A value is the text after `=` up to the next space, or a quoted string (`\"`, `\\`, `\n`, `\t`,
//! `\r` undone; any other backslash kept). An empty value is null for an optional field. The last of
//! a key written twice wins; keys the type lacks are skipped. A quote that does not close rejects the
//! line, as does text with no key (`=x`).

use super::{text_value, Step, Val, Why};
use arrow_schema::{DataType, SchemaRef};
use memchr::memchr2;
use std::borrow::Cow;

/// How `parse logfmt` reads lines into a type.
#[derive(Debug)]
pub(crate) struct Logfmt {
    /// The type's field names, sorted, each with its position in the type.
    keys: Vec<(String, usize)>,
}

/// One pair as written: a key and, unless it is bare, its value.
#[derive(Debug, PartialEq)]
pub(crate) struct Pair<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: Option<Cow<'a, str>>,
}

impl Logfmt {
    pub(crate) fn new(schema: &SchemaRef) -> Logfmt {
        let mut keys: Vec<(String, usize)> =
            schema.fields().iter().enumerate().map(|(i, f)| (f.name().clone(), i)).collect();
        keys.sort();
        Logfmt { keys }
    }

    pub(super) fn fill<'a>(&self, text: &'a str, schema: &SchemaRef, row: &mut Vec<Val<'a>>) -> Result<Step, Why> {
        let fields = schema.fields();
        // Each field's text: absent, bare, or a value.
        let mut slots: Vec<Option<Option<Cow<'a, str>>>> = Vec::new();
        slots.resize_with(fields.len(), || None);
        let mut pairs = Pairs { text, at: 0 };
        while let Some(pair) = pairs.next_pair()? {
            if let Ok(i) = self.keys.binary_search_by(|(k, _)| k.as_str().cmp(pair.key)) {
                slots[self.keys[i].1] = Some(pair.value);
            }
        }
        for (i, (field, slot)) in fields.iter().zip(slots).enumerate() {
            let value = match slot {
                None => None,
                Some(None) => match field.data_type() {
                    DataType::Boolean => Some(Cow::Borrowed("true")),
                    DataType::Utf8 => Some(Cow::Borrowed("")),
                    _ => None,
                },
                Some(Some(v)) if v.is_empty() && field.is_nullable() => None,
                Some(Some(v)) => Some(v),
            };
            row.push(text_value(value, field, false).map_err(|()| Why::Field(i))?);
        }
        Ok(Step::Row)
    }
}

/// The pairs of a line, in order.
pub(crate) struct Pairs<'a> {
    pub(crate) text: &'a str,
    pub(crate) at: usize,
}

impl<'a> Pairs<'a> {
    /// The next pair; `Ok(None)` at the end, `Err` when the line is not logfmt.
    pub(crate) fn next_pair(&mut self) -> Result<Option<Pair<'a>>, Why> {
        let b = self.text.as_bytes();
        while self.at < b.len() && b[self.at] == b' ' {
            self.at += 1;
        }
        if self.at >= b.len() {
            return Ok(None);
        }
        let start = self.at;
        let end = b[start..].iter().position(|&c| c == b' ' || c == b'=' || c == b'"').map_or(b.len(), |i| start + i);
        let key = &self.text[start..end];
        if key.is_empty() {
            return Err(Why::NotLogfmt);
        }
        match b.get(end) {
            Some(b'=') => {}
            Some(b'"') => return Err(Why::NotLogfmt),
            _ => {
                self.at = end;
                return Ok(Some(Pair { key, value: None }));
            }
        }
        let vstart = end + 1;
        if b.get(vstart) == Some(&b'"') {
            let (value, next) = quoted(self.text, vstart + 1).ok_or(Why::Quote)?;
            self.at = next;
            return Ok(Some(Pair { key, value: Some(value) }));
        }
        let vend = memchr::memchr(b' ', &b[vstart..]).map_or(b.len(), |i| vstart + i);
        self.at = vend;
        Ok(Some(Pair { key, value: Some(Cow::Borrowed(&self.text[vstart..vend])) }))
    }
}

/// A quoted value from `at` (just after its opening quote), unescaped, and where the text goes on.
fn quoted(text: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    let mut i = at;
    let mut owned: Option<String> = None;
    loop {
        let j = i + memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[j] == b'"' {
            let value = match owned {
                None => Cow::Borrowed(&text[at..j]),
                Some(mut s) => {
                    s.push_str(&text[i..j]);
                    Cow::Owned(s)
                }
            };
            return Some((value, j + 1));
        }
        let s = owned.get_or_insert_with(String::new);
        s.push_str(&text[i..j]);
        let escaped = text[j + 1..].chars().next()?;
        match escaped {
            '"' | '\\' => s.push(escaped),
            'n' => s.push('\n'),
            't' => s.push('\t'),
            'r' => s.push('\r'),
            other => {
                s.push('\\');
                s.push(other);
            }
        }
        i = j + 1 + escaped.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, Schema};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn pairs(text: &str) -> Result<Vec<(String, Option<String>)>, Why> {
        let mut out = Vec::new();
        let mut pairs = Pairs { text, at: 0 };
        while let Some(p) = pairs.next_pair()? {
            out.push((p.key.to_string(), p.value.map(Cow::into_owned)));
        }
        Ok(out)
    }

    fn kv(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.to_string(), v.map(str::to_string))
    }

    #[test]
    fn pairs_quoted_values_escapes_and_bare_keys() {
        assert_eq!(
            pairs(r#"level=info msg="took \"3\" ms\n" cached  path=/a=b empty= "#),
            Ok(vec![
                kv("level", Some("info")),
                kv("msg", Some("took \"3\" ms\n")),
                kv("cached", None),
                kv("path", Some("/a=b")),
                kv("empty", Some("")),
            ])
        );
        assert_eq!(pairs(r#"a="C:\dir\\x""#), Ok(vec![kv("a", Some(r"C:\dir\x"))]));
        assert_eq!(pairs(r#"msg="open"#), Err(Why::Quote));
        assert_eq!(pairs("=x"), Err(Why::NotLogfmt));
        assert_eq!(pairs(r#"a"b=1"#), Err(Why::NotLogfmt));
        assert_eq!(pairs(""), Ok(vec![]));
        assert_eq!(pairs("ключ=значение"), Ok(vec![kv("ключ", Some("значение"))]));
    }

    #[test]
    fn values_are_typed_by_the_schema() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("level", DataType::Utf8, false),
            Field::new("took", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("cached", DataType::Boolean, false),
        ]));
        let logfmt = Logfmt::new(&schema);
        let fill = |text| {
            let mut row = Vec::new();
            logfmt.fill(text, &schema, &mut row).map(|_| row)
        };
        assert_eq!(
            fill("level=warn took=2.5 n= cached other=x n=3 n="),
            Ok(vec![Val::Str(Cow::Borrowed("warn")), Val::Float(2.5), Val::Null, Val::Bool(true)])
        );
        assert_eq!(fill("took=2.5 cached=false"), Err(Why::Field(0)));
        assert_eq!(fill("level=x cached=maybe"), Err(Why::Field(3)));
        assert_eq!(fill("level=x n=1.5 cached"), Err(Why::Field(2)));
    }

    proptest! {
        #[test]
        fn random_text_never_panics(text in prop_oneof![any::<String>(), r#"([a-z]{1,3}(=("[^"]{0,4}("|\\")?|[a-z\\"= ]{0,4}))? ?){0,5}"#]) {
            let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
            let mut row = Vec::new();
            let _ = Logfmt::new(&schema).fill(&text, &schema, &mut row);
        }
    }
}
