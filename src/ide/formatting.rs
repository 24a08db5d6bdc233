//! Formatting: the canonical layout of `flowc fmt` (`flowc_compiler::format`), as the smallest edit.

use super::{Document, TextEdit};
use flowc_compiler::Span;

/// The edit that formats the whole document: `Some(vec![])` when it is already formatted, `None` when
/// it does not parse (the formatter leaves such a file alone).
pub fn format(doc: &Document) -> Option<Vec<TextEdit>> {
    let formatted = flowc_compiler::format::format(&doc.text).ok()?;
    Some(smallest_edit(&doc.text, &formatted).into_iter().collect())
}

/// One edit covering only what differs between `old` and `new`: the common prefix and suffix are kept,
/// so the editor's cursor and folds outside the change stay put.
fn smallest_edit(old: &str, new: &str) -> Option<TextEdit> {
    if old == new {
        return None;
    }
    let prefix = old.char_indices().zip(new.chars()).take_while(|((_, a), b)| a == b).last();
    let mut start = prefix.map_or(0, |((i, c), _)| i + c.len_utf8());
    // Both strings share `..start`; it must be a char boundary in both (it is: the same chars).
    let max_suffix = (old.len() - start).min(new.len() - start);
    let suffix = old[start..]
        .chars()
        .rev()
        .zip(new[start..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .scan(0, |total, len| {
            *total += len;
            Some(*total)
        })
        .take_while(|total| *total <= max_suffix)
        .last()
        .unwrap_or(0);
    start = start.min(old.len() - suffix);
    Some(TextEdit { span: Span::new(start, old.len() - suffix), new_text: new[start..new.len() - suffix].to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, edits: &[TextEdit]) -> String {
        let mut out = text.to_string();
        for edit in edits.iter().rev() {
            out.replace_range(edit.span.start..edit.span.end, &edit.new_text);
        }
        out
    }

    #[test]
    fn formatting_gives_the_canonical_layout_as_a_small_edit() {
        let text = "// 中文注释\nsource r1 = spooldir {dir=\"spool\"}\nsink s1 = logger {}\nr1 -> s1\n";
        let doc = Document::new(text);
        let edits = format(&doc).expect("it parses");
        let formatted = apply(text, &edits);
        assert_eq!(formatted, flowc_compiler::format::format(text).unwrap());
        assert_eq!(edits.len(), 1);
        assert!(edits[0].span.start >= text.find("{dir").unwrap(), "{edits:?}");
        // Formatted text needs no edit.
        assert_eq!(format(&Document::new(formatted)), Some(vec![]));
    }

    #[test]
    fn a_file_that_does_not_parse_is_left_alone() {
        assert_eq!(format(&Document::new("source r1 = {\n")), None);
    }

    #[test]
    fn the_smallest_edit_respects_character_boundaries() {
        for (old, new) in [("日志a", "日志b"), ("a日", "a月"), ("日日", "日"), ("x", "xx"), ("ab", "b"), ("", "中")]
        {
            let edit = smallest_edit(old, new).unwrap();
            assert_eq!(apply(old, &[edit]), new, "{old} → {new}");
        }
    }
}
