//! Document symbols: the file's declarations as an outline (a type's fields as its children).

use super::Document;
use flowc_compiler::ast::{Item, NodeRole, TypeExprKind};
use flowc_compiler::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Type,
    Field,
    Topic,
    Source,
    Channel,
    Sink,
}

/// One entry of the outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// What it is: `source tail`, `topic: Access`, `{ host: string }`.
    pub detail: String,
    /// The whole declaration.
    pub span: Span,
    /// Its name.
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

/// The declarations that parsed, in text order.
pub fn document_symbols(doc: &Document) -> Vec<Symbol> {
    let text = |span: Span| doc.text.get(span.start..span.end).unwrap_or_default().to_string();
    let mut out: Vec<Symbol> = doc
        .analysis
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Type(decl) => {
                let children = match &decl.ty.kind {
                    TypeExprKind::Record(fields) => fields
                        .iter()
                        .map(|field| Symbol {
                            name: field.name.name.clone(),
                            kind: SymbolKind::Field,
                            detail: text(field.ty.span),
                            span: field.name.span.to(field.ty.span),
                            name_span: field.name.span,
                            children: Vec::new(),
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Some(Symbol {
                    name: decl.name.name.clone(),
                    kind: SymbolKind::Type,
                    detail: "type".into(),
                    span: decl.span,
                    name_span: decl.name.span,
                    children,
                })
            }
            Item::Topic(decl) => Some(Symbol {
                name: decl.name.name.clone(),
                kind: SymbolKind::Topic,
                detail: match &decl.ty {
                    Some(ty) => format!("topic: {}", text(ty.span)),
                    None => "topic".into(),
                },
                span: decl.span,
                name_span: decl.name.span,
                children: Vec::new(),
            }),
            Item::Node(decl) => {
                let (kind, role) = match decl.role {
                    NodeRole::Source => (SymbolKind::Source, "source"),
                    NodeRole::Channel => (SymbolKind::Channel, "channel"),
                    NodeRole::Sink => (SymbolKind::Sink, "sink"),
                };
                Some(Symbol {
                    name: decl.name.name.clone(),
                    kind,
                    detail: format!("{role} {}", decl.kind.name),
                    span: decl.span,
                    name_span: decl.name.span,
                    children: Vec::new(),
                })
            }
            Item::Flow(_) | Item::Tests(_) | Item::Test(_) => None,
        })
        .collect();
    out.sort_by_key(|s| s.span.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outline_lists_declarations_with_fields() {
        let doc = Document::new(
            "// 类型\ntype Access = { host: string, status: int }\ntopic access: Access {}\n\
             source web = tail { path = \"a\" }\nchannel c = memory {}\nsink out = logger {}\n\
             web | parse json as Access -> access\naccess -> c -> out\n",
        );
        let outline: Vec<String> = document_symbols(&doc)
            .iter()
            .map(|s| {
                let children: Vec<String> = s.children.iter().map(|c| format!("{}: {}", c.name, c.detail)).collect();
                format!("{:?} {} ({}) [{}]", s.kind, s.name, s.detail, children.join(", "))
            })
            .collect();
        assert_eq!(
            outline,
            [
                "Type Access (type) [host: string, status: int]",
                "Topic access (topic: Access) []",
                "Source web (source tail) []",
                "Channel c (channel memory) []",
                "Sink out (sink logger) []",
            ]
        );
    }
}
