//! `parse csv`: one line of comma-separated values (or another one-character `delimiter`), fields
//! quoted RFC 4180 style (`"a, b"`, `"say ""hi"""`). Columns fill the type's fields in order, or by
//! name with `header = true`: the first line names the columns and is skipped, as is every later
//! line equal to it (each spooled or tailed file may start with the same header).

use crate::exec::RunError;
use std::sync::Mutex;

/// How `parse csv` reads lines.
#[derive(Debug)]
pub(crate) struct Csv {
    delimiter: char,
    /// With `header = true`: the header line once seen, and for each field the column it is in.
    header: Option<Mutex<Option<Header>>>,
}

/// One line, read.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    Header,
    Columns(Vec<String>),
    Malformed,
}

#[derive(Debug, Clone)]
struct Header {
    line: String,
    columns: Vec<String>,
}

impl Csv {
    pub(crate) fn new(delimiter: Option<&str>, header: bool) -> Result<Csv, RunError> {
        let delimiter = match delimiter {
            None => ',',
            Some(d) => {
                let mut chars = d.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c != '"' => c,
                    _ => {
                        return Err(RunError::config(format!(
                            "`parse csv`: `delimiter` must be one character other than `\"`, not {d:?}"
                        )))
                    }
                }
            }
        };
        Ok(Csv { delimiter, header: header.then(|| Mutex::new(None)) })
    }

    /// What `line` is: the header, a row of columns, or malformed (a quote that does not close).
    pub(crate) fn line(&self, line: &str) -> Line {
        if let Some(header) = &self.header {
            let mut seen = header.lock().unwrap_or_else(|e| e.into_inner());
            match seen.as_ref() {
                Some(h) if h.line == line => return Line::Header,
                Some(_) => {}
                None => {
                    let Some(columns) = split(line, self.delimiter) else { return Line::Malformed };
                    *seen = Some(Header { line: line.to_string(), columns });
                    return Line::Header;
                }
            }
        }
        split(line, self.delimiter).map_or(Line::Malformed, Line::Columns)
    }

    /// The value of field `name` (position `index` in the type) in a row; `None` when the row has no
    /// such column.
    pub(crate) fn value<'r>(&self, row: &'r [String], name: &str, index: usize) -> Option<&'r str> {
        let column = match &self.header {
            None => index,
            Some(header) => {
                let seen = header.lock().unwrap_or_else(|e| e.into_inner());
                seen.as_ref()?.columns.iter().position(|c| c == name)?
            }
        };
        row.get(column).map(String::as_str)
    }

    /// Whether a row has the shape the type wants: without a header, no more columns than fields.
    pub(crate) fn fits(&self, row: &[String], fields: usize) -> bool {
        self.header.is_some() || row.len() <= fields
    }
}

/// Splits one line into fields; a quoted field may hold the delimiter and doubled quotes. `None`
/// when a quote is not closed or text follows a closing quote.
fn split(line: &str, delimiter: char) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(c) if c == delimiter => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(c) if c == delimiter => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hold_delimiters_and_quotes() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(split("a,b,,c", ','), Some(v(&["a", "b", "", "c"])));
        assert_eq!(split(r#""a, b","say ""hi""",x"#, ','), Some(v(&["a, b", "say \"hi\"", "x"])));
        assert_eq!(split("a;\"b;c\"", ';'), Some(v(&["a", "b;c"])));
        assert_eq!(split("\"open", ','), None);
        assert_eq!(split("\"a\"b,c", ','), None);
        assert_eq!(split("", ','), Some(v(&[""])));
    }

    #[test]
    fn a_header_names_the_columns_and_is_skipped_each_time_it_comes_again() {
        let csv = Csv::new(Some(";"), true).unwrap();
        assert_eq!(csv.line("amount;user"), Line::Header);
        let Line::Columns(row) = csv.line("2.5;ann") else { panic!("a row") };
        assert_eq!(csv.value(&row, "user", 0), Some("ann"));
        assert_eq!(csv.value(&row, "amount", 1), Some("2.5"));
        assert_eq!(csv.value(&row, "currency", 2), None);
        assert_eq!(csv.line("amount;user"), Line::Header);
        assert_eq!(csv.line("\"x;y"), Line::Malformed);
        assert!(Csv::new(Some(";;"), false).is_err());
    }
}
