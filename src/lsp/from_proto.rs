//! LSP positions and ranges as byte offsets into a document (UTF-16 columns → bytes).

use crate::ide::{Document, LineCol};
use flowc_compiler::Span;
use lsp_types as lsp;

pub(crate) fn offset(doc: &Document, position: lsp::Position) -> usize {
    doc.line_index.offset(&doc.text, LineCol { line: position.line, col: position.character })
}

pub(crate) fn span(doc: &Document, range: lsp::Range) -> Span {
    let (start, end) = (offset(doc, range.start), offset(doc, range.end));
    Span::new(start.min(end), start.max(end))
}
