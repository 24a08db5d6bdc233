//! The IDE layer's plain structs and the checker's diagnostics as LSP types (byte spans → UTF-16 ranges).

use crate::ide::{self, Completion, CompletionKind, Document, Symbol, SymbolKind};
use flowc_compiler::{Severity, Span};
use lsp_types as lsp;
use std::collections::HashMap;

pub(crate) fn position(doc: &Document, offset: usize) -> lsp::Position {
    let pos = doc.line_index.line_col(&doc.text, offset);
    lsp::Position { line: pos.line, character: pos.col }
}

pub(crate) fn range(doc: &Document, span: Span) -> lsp::Range {
    lsp::Range { start: position(doc, span.start), end: position(doc, span.end) }
}

pub(crate) fn location(doc: &Document, uri: &lsp::Uri, span: Span) -> lsp::Location {
    lsp::Location { uri: uri.clone(), range: range(doc, span) }
}

/// A checker diagnostic: code, severity, message and help, secondary labels as related information.
pub(crate) fn diagnostic(doc: &Document, uri: &lsp::Uri, diag: &flowc_compiler::Diagnostic) -> lsp::Diagnostic {
    let mut message = diag.message.clone();
    if let Some(help) = &diag.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = diag
        .secondary
        .iter()
        .map(|label| lsp::DiagnosticRelatedInformation {
            location: location(doc, uri, label.span),
            message: label.message.clone(),
        })
        .collect();
    lsp::Diagnostic {
        range: range(doc, diag.primary.span),
        severity: Some(match diag.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(diag.code.to_string())),
        code_description: None,
        source: Some("flowc".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

pub(crate) fn hover(doc: &Document, hover: ide::Hover) -> lsp::Hover {
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: hover.markdown,
        }),
        range: Some(range(doc, hover.span)),
    }
}

pub(crate) fn completion_item(doc: &Document, item: Completion) -> lsp::CompletionItem {
    let kind = match item.kind {
        CompletionKind::Connector => lsp::CompletionItemKind::CLASS,
        CompletionKind::Option => lsp::CompletionItemKind::PROPERTY,
        CompletionKind::Value => lsp::CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Name => lsp::CompletionItemKind::VARIABLE,
        CompletionKind::Field => lsp::CompletionItemKind::FIELD,
        CompletionKind::Function => lsp::CompletionItemKind::FUNCTION,
        CompletionKind::Unit => lsp::CompletionItemKind::UNIT,
        CompletionKind::Keyword => lsp::CompletionItemKind::KEYWORD,
        CompletionKind::Type => lsp::CompletionItemKind::STRUCT,
    };
    let new_text = item.insert_text.clone().unwrap_or_else(|| item.label.clone());
    lsp::CompletionItem {
        label: item.label,
        kind: Some(kind),
        detail: item.detail,
        documentation: item.documentation.map(|value| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value })
        }),
        text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit { range: range(doc, item.replace), new_text })),
        ..Default::default()
    }
}

pub(crate) fn workspace_edit(doc: &Document, uri: &lsp::Uri, edits: Vec<(Span, String)>) -> lsp::WorkspaceEdit {
    let edits = edits.into_iter().map(|(span, new_text)| lsp::TextEdit { range: range(doc, span), new_text }).collect();
    lsp::WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), edits)])), ..Default::default() }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` is deprecated but still a required field.
pub(crate) fn document_symbol(doc: &Document, symbol: Symbol) -> lsp::DocumentSymbol {
    let kind = match symbol.kind {
        SymbolKind::Type => lsp::SymbolKind::STRUCT,
        SymbolKind::Field => lsp::SymbolKind::FIELD,
        SymbolKind::Topic => lsp::SymbolKind::EVENT,
        SymbolKind::Source => lsp::SymbolKind::FUNCTION,
        SymbolKind::Channel => lsp::SymbolKind::VARIABLE,
        SymbolKind::Sink => lsp::SymbolKind::METHOD,
    };
    let children: Vec<lsp::DocumentSymbol> =
        symbol.children.into_iter().map(|child| document_symbol(doc, child)).collect();
    lsp::DocumentSymbol {
        name: symbol.name,
        detail: Some(symbol.detail),
        kind,
        tags: None,
        deprecated: None,
        range: range(doc, symbol.span),
        selection_range: range(doc, symbol.name_span),
        children: (!children.is_empty()).then_some(children),
    }
}
