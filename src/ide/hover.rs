//! Hover: what the name under the cursor is — a declaration with its doc comment and stream type, a
//! connector kind, an option, a parse format or a function, documented from the stdlib's signatures.

use super::{DeclKind, Document, Sym};
use flowc_compiler::builtins::{ConnectorSig, ParamSig};
use flowc_compiler::graph::NodeKind;
use flowc_compiler::types::{StreamType, Type};
use flowc_compiler::Span;
use petgraph::Direction;

/// Markdown about the thing at `span`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    pub span: Span,
    pub markdown: String,
}

/// What to show for the name at `offset`, if there is one.
pub fn hover(doc: &Document, offset: usize) -> Option<Hover> {
    let occurrence = doc.occurrence_at(offset)?;
    let markdown = match &occurrence.what {
        Sym::Decl(name) | Sym::Ref(name) => declared(doc, name)?,
        Sym::Kind(sig) => connector(sig),
        Sym::Option(param) => option(param),
        Sym::Format(sig) => {
            let mut out = format!("```flow\nparse {} as T\n```\n\n{}", sig.name, sig.summary);
            if !sig.params.is_empty() {
                out.push_str("\n\nOptions: ");
                out.push_str(&sig.params.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", "));
            }
            out
        }
        Sym::Field { path, node } => field(doc, path, *node)?,
        Sym::TestWord(word) => flowc_compiler::syntax::keywords::test_word_doc(word)?.to_string(),
        Sym::Function(sig) => {
            let params: Vec<&str> = sig.params.iter().map(|s| s.as_str()).collect();
            format!("```flow\n{}({}) -> {}\n```\n\n{}", sig.name, params.join(", "), sig.returns.as_str(), sig.doc)
        }
    };
    Some(Hover { span: occurrence.span, markdown })
}

fn declared(doc: &Document, name: &str) -> Option<String> {
    let decl = doc.declaration(name)?;
    let statement = doc.text.get(decl.span.start..decl.span.end).unwrap_or_default().trim_end();
    let mut lines: Vec<&str> = statement.lines().collect();
    if lines.len() > 12 {
        lines.truncate(11);
        lines.push("…");
    }
    let mut out = format!("```flow\n{}\n```", lines.join("\n"));
    if let Some(text) = &decl.doc {
        out.push_str("\n\n");
        out.push_str(text);
    }
    let program = &doc.analysis.program;
    if let Some(index) = program.node_by_name(name) {
        let node = &program.graph[index];
        if let Some(sig) = node.kind.connector() {
            out.push_str(&format!("\n\n`{}`: {}", sig.kind, sig.summary));
        }
        let stream = match (&node.kind, &node.output) {
            (NodeKind::Sink { .. }, _) | (_, None) => program
                .graph
                .edges_directed(index, Direction::Incoming)
                .find_map(|edge| edge.weight().ty.as_ref())
                .map(|ty| ("receives", ty)),
            (NodeKind::Topic { .. }, Some(ty)) => Some(("holds", ty)),
            (_, Some(ty)) => Some(("emits", ty)),
        };
        if let Some((verb, ty)) = stream {
            out.push_str(&format!("\n\n{} {verb} {}", decl.kind.as_str(), stream_type(ty)));
        }
    } else if decl.kind == DeclKind::Broken {
        out.push_str("\n\n(this statement does not parse yet)");
    }
    Some(out)
}

/// A field read by a transform: its type, from the stream entering that transform.
fn field(doc: &Document, path: &[String], node: flowc_compiler::Span) -> Option<String> {
    let program = &doc.analysis.program;
    let index = program.graph.node_indices().find(|i| {
        program.graph[*i].span == node && matches!(program.graph[*i].kind, NodeKind::Transform(_) | NodeKind::Route(_))
    })?;
    let stream = program.graph.edges_directed(index, Direction::Incoming).find_map(|e| e.weight().ty.as_ref())?;
    let mut ty: Option<&Type> = None;
    let mut record = &stream.record;
    for part in path {
        let found = record.field(part)?;
        ty = Some(&found.ty);
        if let Type::Record(inner) = found.ty.base() {
            record = inner;
        }
    }
    Some(format!("```flow\n{}: {}\n```\n\nfield of {}", path.join("."), ty?, stream_type(stream)))
}

/// `Access` `{ host: string, … }`, or untyped lines.
pub(crate) fn stream_type(ty: &StreamType) -> String {
    if ty.untyped {
        return "untyped lines `{ line: string }`".to_string();
    }
    match &ty.name {
        Some(name) => format!("`{name}` = `{}`", ty.record),
        None => format!("`{}`", ty.record),
    }
}

fn connector(sig: &ConnectorSig) -> String {
    let mut out = format!("**{} `{}`** — {}\n\n{}", sig.role.as_str(), sig.kind, sig.summary, sig.doc);
    out.push_str(&format!("\n\nDelivery: **{}** — {}", sig.guarantee.as_str(), sig.guarantee_note));
    if let Some(flume) = sig.flume_name() {
        out.push_str(&format!("\n\nReplaces Flume's `{flume}`."));
    }
    out
}

pub(crate) fn option(param: &ParamSig) -> String {
    let mut out = format!("`{}`: {}", param.name, param.ty.describe());
    if param.required {
        out.push_str(" — required");
    } else if let Some(default) = param.default {
        out.push_str(&format!(" — default `{default}`"));
    }
    if !param.doc.is_empty() {
        out.push_str("\n\n");
        out.push_str(param.doc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::cursor;

    /// The hover at the fixture's `$0`, with the hovered text first: `[text] markdown`.
    fn check(fixture: &str) -> String {
        let (text, offset) = cursor(fixture);
        let doc = Document::new(text.clone());
        let hover = hover(&doc, offset).expect("a hover");
        format!("[{}] {}", &text[hover.span.start..hover.span.end], hover.markdown)
    }

    const ACCESS: &str = "type Access = { host: string, status: int }\n\
        /// Web access events.\n\
        topic access: Access { partitions = 3 }\n\
        source web = tail { path = \"logs/a.log\" }\n\
        sink show = logger {}\n\
        web | parse json as Access -> access\n\
        access -> show\n";

    #[test]
    fn a_reference_shows_its_declaration_doc_and_stream_type() {
        let out = check(&ACCESS.replace("access -> show", "acc$0ess -> show"));
        assert!(out.starts_with("[access] ```flow\ntopic access: Access { partitions = 3 }\n```"), "{out}");
        assert!(out.contains("Web access events."), "{out}");
        assert!(out.contains("topic holds `Access` = `{ host: string, status: int }`"), "{out}");
    }

    #[test]
    fn test_words_say_what_they_do_and_tested_nodes_show_their_declaration() {
        let tests = format!("{ACCESS}test \"t\" {{\n  input web = [\"a\"]\n  expect show = []\n}}\n");
        let out = check(&tests.replace("expect show", "exp$0ect show"));
        assert!(out.starts_with("[expect] `expect NODE = [events]`: the events that reach NODE"), "{out}");
        let out = check(&tests.replace("test \"t\"", "te$0st \"t\""));
        assert!(out.starts_with("[test] `test \"name\""), "{out}");
        let out = check(&tests.replace("input web", "input w$0eb"));
        assert!(out.starts_with("[web] ```flow\nsource web = tail"), "{out}");
    }

    #[test]
    fn a_source_emits_lines_and_a_sink_receives_its_input() {
        let out = check(&ACCESS.replace("web |", "$0web |"));
        assert!(out.contains("source emits untyped lines"), "{out}");
        assert!(out.contains("`tail`: "), "{out}");
        let out = check(&ACCESS.replace("sink show", "sink sh$0ow"));
        assert!(out.contains("sink receives `Access`"), "{out}");
    }

    #[test]
    fn a_connector_kind_shows_its_signature_docs() {
        let out = check(&ACCESS.replace("= tail", "= ta$0il"));
        assert!(out.starts_with("[tail] **source `tail`**"), "{out}");
        assert!(out.contains("Delivery: **at-least-once**"), "{out}");
    }

    #[test]
    fn an_option_shows_type_default_and_doc() {
        let out = check("channel c = memory { capa$0city = 5 }\n");
        assert!(out.starts_with("[capacity] `capacity`: integer ≥ 1 — default `10_000`"), "{out}");
        assert!(out.contains("Most events held at once."), "{out}");
        let out = check("source s = spooldir { d$0ir = \"x\" }\n");
        assert!(out.contains("— required"), "{out}");
    }

    #[test]
    fn nested_options_and_functions_and_formats() {
        let out = check("sink k = files { path = \"out/\", use_local_time = true, roll = { inter$0val = 3s } }\n");
        assert!(out.starts_with("[interval] `interval`: duration"), "{out}");
        let out = check(&ACCESS.replace("parse json", "parse js$0on"));
        assert!(out.starts_with("[json] ```flow\nparse json as T\n```"), "{out}");
        let out = check("source s = stdin\nsink k = logger\ns | set t = n$0ow() -> k\n");
        assert!(out.starts_with("[now] ```flow\nnow() -> timestamp\n```"), "{out}");
    }

    #[test]
    fn hover_works_after_chinese_comments_and_in_broken_files() {
        let out = check("// 日志 收集\nsource web = tail {\nsink out = logger\nw$0eb -> out\n");
        assert!(out.starts_with("[web] ```flow\nsource web = tail {"), "{out}");
        assert!(out.contains("does not parse yet"), "{out}");
    }

    #[test]
    fn a_field_shows_its_type() {
        let file = "type Geo = { country: string }\ntype A = { host: string, geo: Geo }\nsource s = stdin\n\
                    sink k = logger\ns | parse json as A | where geo.country == \"DE\" and host != \"\" -> k\n";
        let out = check(&file.replace("geo.country", "geo.cou$0ntry"));
        assert!(out.starts_with("[country] ```flow\ngeo.country: string\n```"), "{out}");
        assert!(out.contains("field of `A`"), "{out}");
        let out = check(&file.replace("and host", "and h$0ost"));
        assert!(out.starts_with("[host] ```flow\nhost: string\n```"), "{out}");
    }

    #[test]
    fn nothing_to_show_on_punctuation() {
        let (text, offset) = cursor("source web = tail { path = \"a\" }\n$0\n");
        assert_eq!(hover(&Document::new(text), offset), None);
    }
}
