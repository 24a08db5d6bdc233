//! Go to definition, find references and rename: declared names (types, topics, sources, channels and
//! sinks share one namespace) and every place they are written, including half-typed statements.

use super::{is_valid_name, Document};
use flowc_compiler::Span;

/// Replace `span` with `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub span: Span,
    pub new_text: String,
}

/// Why a rename cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenameError {
    /// The cursor is not on a declared name.
    NotAName,
    /// The new name is not an identifier, or is a keyword.
    InvalidName(String),
    /// Another declaration already has the new name.
    Taken(String),
}

impl std::fmt::Display for RenameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenameError::NotAName => {
                f.write_str("only declared names (types, topics, sources, channels, sinks) can be renamed")
            }
            RenameError::InvalidName(name) => {
                write!(f, "`{name}` is not a valid name: a letter or `_`, then letters, digits, `_`; not a keyword")
            }
            RenameError::Taken(name) => write!(f, "`{name}` is already declared"),
        }
    }
}

/// The declaration of the name at `offset`: its name's span.
pub fn definition(doc: &Document, offset: usize) -> Option<Span> {
    let (name, _) = doc.name_at(offset)?;
    Some(doc.declaration(name)?.name_span)
}

/// Every place the name at `offset` is written, in text order; declarations only if asked for.
pub fn references(doc: &Document, offset: usize, include_declaration: bool) -> Vec<Span> {
    let Some((name, _)) = doc.name_at(offset) else {
        return Vec::new();
    };
    doc.occurrences_of(name).filter(|(_, is_decl)| include_declaration || !is_decl).map(|(span, _)| span).collect()
}

/// The span of the name a rename at `offset` would change, if it is a declared name.
pub fn prepare_rename(doc: &Document, offset: usize) -> Option<Span> {
    let (name, span) = doc.name_at(offset)?;
    doc.declaration(name)?;
    Some(span)
}

/// The edits that rename the declared name at `offset`, everywhere it is written.
pub fn rename(doc: &Document, offset: usize, new_name: &str) -> Result<Vec<TextEdit>, RenameError> {
    let (name, _) = doc.name_at(offset).ok_or(RenameError::NotAName)?;
    doc.declaration(name).ok_or(RenameError::NotAName)?;
    if !is_valid_name(new_name) {
        return Err(RenameError::InvalidName(new_name.to_string()));
    }
    if new_name != name && doc.declaration(new_name).is_some() {
        return Err(RenameError::Taken(new_name.to_string()));
    }
    let mut edits: Vec<TextEdit> =
        doc.occurrences_of(name).map(|(span, _)| TextEdit { span, new_text: new_name.to_string() }).collect();
    edits.sort_by_key(|e| e.span.start);
    edits.dedup_by_key(|e| e.span);
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::cursor;

    const FILE: &str = "type Access = { host: string, status: int }\n\
        topic access: Access { partitions = 3 }\n\
        source web = tail { path = \"logs/a.log\" }\n\
        sink a = logger {}\n\
        sink b = logger {}\n\
        sink both = failover { sinks = [a, b] }\n\
        web | parse json as Access -> access\n\
        access -> group \"g\" -> both\n";

    /// The text with every span marked `«…»`.
    fn marked(text: &str, spans: &[Span]) -> String {
        let mut out = text.to_string();
        let mut spans = spans.to_vec();
        spans.sort_by_key(|s| std::cmp::Reverse(s.start));
        for span in spans {
            out.insert(span.end, '»');
            out.insert(span.start, '«');
        }
        out
    }

    fn doc_at(fixture: &str) -> (Document, usize) {
        let (text, offset) = cursor(fixture);
        (Document::new(text), offset)
    }

    #[test]
    fn definition_jumps_to_the_declared_name() {
        let (doc, offset) = doc_at(&FILE.replace("-> access\n", "-> acc$0ess\n"));
        let span = definition(&doc, offset).expect("a definition");
        assert_eq!(&doc.text[span.start..span.end], "access");
        assert!(doc.text[..span.start].ends_with("topic "));
        // The type named in `parse … as Access`.
        let (doc, offset) = doc_at(&FILE.replace("as Access", "as Acc$0ess"));
        let span = definition(&doc, offset).expect("a definition");
        assert!(doc.text[..span.start].ends_with("type "));
        // A sink group's member list.
        let (doc, offset) = doc_at(&FILE.replace("[a, b]", "[a, $0b]"));
        let span = definition(&doc, offset).expect("a definition");
        assert!(doc.text[..span.start].ends_with("sink "));
    }

    #[test]
    fn no_definition_for_keywords_kinds_and_fields() {
        for marked_at in ["sink $0a = logger {}", "= fail$0over", "group \"$0g\""] {
            let (doc, offset) = doc_at(&FILE.replace(&marked_at.replace("$0", ""), marked_at));
            let found = definition(&doc, offset).map(|s| doc.text[s.start..s.end].to_string());
            if marked_at.starts_with("sink") {
                assert_eq!(found.as_deref(), Some("a"));
            } else {
                assert_eq!(found, None, "{marked_at}");
            }
        }
    }

    #[test]
    fn references_list_every_use() {
        let (doc, offset) = doc_at(&FILE.replace("sink a =", "sink $0a ="));
        let spans = references(&doc, offset, true);
        let out = marked(&doc.text, &spans);
        assert!(out.contains("sink «a» = logger"), "{out}");
        assert!(out.contains("sinks = [«a», b]"), "{out}");
        assert_eq!(spans.len(), 2);
        assert_eq!(references(&doc, offset, false).len(), 1);
    }

    #[test]
    fn rename_changes_declaration_and_uses() {
        let (doc, offset) = doc_at(&FILE.replace("type Access", "type Acc$0ess"));
        let edits = rename(&doc, offset, "Hit").expect("renamed");
        let mut text = doc.text.clone();
        for edit in edits.iter().rev() {
            text.replace_range(edit.span.start..edit.span.end, &edit.new_text);
        }
        assert_eq!(text.matches("Hit").count(), 3, "{text}");
        assert!(Document::new(text).diagnostics().iter().all(|d| !d.is_error()));
    }

    #[test]
    fn rename_refuses_bad_names() {
        let (doc, offset) = doc_at(&FILE.replace("source web", "source w$0eb"));
        assert_eq!(rename(&doc, offset, "where"), Err(RenameError::InvalidName("where".into())));
        assert_eq!(rename(&doc, offset, "access"), Err(RenameError::Taken("access".into())));
        let (doc, offset) = doc_at(&FILE.replace("= tail", "= ta$0il"));
        assert_eq!(rename(&doc, offset, "x"), Err(RenameError::NotAName));
        assert_eq!(prepare_rename(&doc, offset), None);
    }

    #[test]
    fn rename_reaches_into_half_typed_statements() {
        let (doc, offset) = doc_at("source w$0eb = tail { path = \"a\" }\nsink out = logger\nweb -> out ->\n");
        let edits = rename(&doc, offset, "site").expect("renamed");
        assert_eq!(edits.len(), 2, "{edits:?}");
    }

    #[test]
    fn positions_after_chinese_comments_are_byte_offsets() {
        let fixture = "// 源：访问日志\nsource web = tail { path = \"a\" } // 注释\nsink out = logger\nw$0eb -> out\n";
        let (doc, offset) = doc_at(fixture);
        let span = definition(&doc, offset).expect("a definition");
        assert_eq!(&doc.text[span.start..span.end], "web");
        let pos = doc.line_index.line_col(&doc.text, span.start);
        assert_eq!((pos.line, pos.col), (1, 7));
    }
}
