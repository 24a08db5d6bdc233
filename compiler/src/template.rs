//! Path templates (`out/%Y-%m-%d/%{host}/`) as values: parsed once by the checker, expanded by the runtime.

use std::fmt;

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

/// A checked template: its pieces in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

impl Template {
    /// Whether any time escape (`%Y`, `%H`, …) is used.
    pub fn uses_time(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Time(_)))
    }

    /// Whether any `%{field}` is used.
    pub fn uses_fields(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field(..)))
    }

    /// The template without its first `bytes` bytes, which must lie in its leading literal text
    /// (e.g. the `s3://bucket/` of an object-store URL); `None` when they do not.
    pub fn skip_literal(&self, bytes: usize) -> Option<Template> {
        let mut parts = self.parts.clone();
        match parts.first_mut() {
            _ if bytes == 0 => {}
            Some(Part::Literal(text)) if text.len() == bytes => {
                parts.remove(0);
            }
            Some(Part::Literal(text)) if text.len() > bytes && text.is_char_boundary(bytes) => {
                text.drain(..bytes);
            }
            _ => return None,
        }
        Some(Template { parts })
    }

    /// Applies `f` to every literal piece (e.g. to fill in `${ENV}` references).
    pub fn map_literals<E>(&self, mut f: impl FnMut(&str) -> Result<String, E>) -> Result<Template, E> {
        let parts = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => f(text).map(Part::Literal),
                other => Ok(other.clone()),
            })
            .collect::<Result<_, E>>()?;
        Ok(Template { parts })
    }
}

/// The template as it would be written (`%` in literal text doubled).
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(text) => f.write_str(&text.replace('%', "%%"))?,
                Part::Time(c) => write!(f, "%{c}")?,
                Part::Field(name, _) => write!(f, "%{{{name}}}")?,
            }
        }
        Ok(())
    }
}

/// Splits a template into parts, or returns the byte offset and text of the first bad escape.
pub fn parse(template: &str) -> Result<Template, (usize, String)> {
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
    Ok(Template { parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_parts() {
        let template = parse("out/%Y-%m/%{host}/x%%").unwrap();
        assert_eq!(
            template.parts,
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
        assert_eq!(template.to_string(), "out/%Y-%m/%{host}/x%%");
        assert!(template.uses_time() && template.uses_fields());
        assert_eq!(parse("a/%Q/").unwrap_err(), (2, "%Q".into()));
        assert!(parse("a/%{host").is_err());
    }

    #[test]
    fn leading_literal_text_is_skipped() {
        let url = parse("s3://b/logs/%Y/").unwrap();
        assert_eq!(url.skip_literal("s3://b/".len()).unwrap().to_string(), "logs/%Y/");
        assert_eq!(parse("s3://b/%Y").unwrap().skip_literal(7).unwrap().to_string(), "%Y");
        assert_eq!(parse("s3://b/%Y").unwrap().skip_literal(8), None);
    }
}
