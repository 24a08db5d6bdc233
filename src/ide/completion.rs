//! Completion: what may be written at the cursor, read from the text before it (half-typed text does
//! not parse, so the context is found lexically) and filled from the stdlib's signatures and the
//! checker's stream types.
//!
//! Contexts: a connector kind after `source x = `; an option name (with its type and default) or an
//! option value inside an option block; a declared name after `->`; a record field or function inside
//! `where` / `set` / `select` / `route` expressions (fields of the stream flowing into that transform);
//! a unit after a number.

use super::{word_before, DeclKind, Document};
use flowc_compiler::ast::{Item, Stage, Target};
use flowc_compiler::builtins::{ParamSig, ParamType, Role};
use flowc_compiler::graph::NodeKind;
use flowc_compiler::syntax::keywords::{DECLARATION_KEYWORDS, TEST_KEYWORDS};
use flowc_compiler::syntax::literals::{DURATION_UNITS, SIZE_UNITS};
use flowc_compiler::types::{RecordType, StreamType, Type, BUILTIN_TYPES};
use flowc_compiler::{FileId, Span};

/// One thing that may be written at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// A short note shown beside the label: an option's type and default, a field's type.
    pub detail: Option<String>,
    /// Markdown documentation.
    pub documentation: Option<String>,
    /// The text to insert, when it differs from the label (`capacity = `).
    pub insert_text: Option<String>,
    /// The text the completion replaces: the part of the word already typed.
    pub replace: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    Connector,
    Option,
    Value,
    Name,
    Field,
    Function,
    Unit,
    Keyword,
    Type,
}

/// Everything that may be written at `offset`, best first.
pub fn completions(doc: &Document, offset: usize) -> Vec<Completion> {
    let text = doc.text.as_str();
    let offset = flowc_compiler::span::floor_char_boundary(text, offset.min(text.len()));
    let scan = Scan::new(text, offset);
    if scan.in_string || scan.in_comment {
        return Vec::new();
    }
    let (word_start, word) = word_before(text, offset);
    let replace = Span::new(word_start, offset);
    let mut out = Completions { items: Vec::new(), replace, prefix: word.to_string() };

    // A number being typed: its unit.
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        units(doc, &scan, &mut out, word, word_start, offset);
        return out.finish();
    }

    let line_start = text[..word_start].rfind('\n').map_or(0, |i| i + 1);
    let before_on_line = text[line_start..word_start].trim();
    let before = text[scan.stmt_start.min(word_start)..word_start].trim_end();

    // `source x = `: the connector kinds of that role.
    let words: Vec<&str> = before_on_line.split_whitespace().collect();
    if connector_kinds(doc, &words, &mut out) {
        return out.finish();
    }

    // After `->` (or in a fan-out list after it, or a route arm's `=>`): the names a pipeline can go to.
    let route_target = scan.route_start.is_some() && before.ends_with("=>");
    if before.ends_with("->") || route_target || (scan.in_fanout && (before.ends_with('[') || before.ends_with(','))) {
        let mut decls: Vec<_> = doc
            .declarations()
            .iter()
            .filter(|d| matches!(d.kind, DeclKind::Channel | DeclKind::Sink | DeclKind::Topic | DeclKind::Broken))
            .collect();
        decls.sort_by_key(|d| d.name.clone());
        for decl in decls {
            out.push(&decl.name, CompletionKind::Name, Some(decl.kind.as_str().into()), decl.doc.as_deref(), None);
        }
        if before.ends_with("->") && scan.last_pipe.is_none() {
            out.push("group", CompletionKind::Keyword, Some("consume a topic as a consumer group".into()), None, None);
        }
        return out.finish();
    }

    // `topic t: `: the declared types.
    if matches!(words.as_slice(), ["topic", _, ":"] | ["topic", _]) && before_on_line.ends_with(':') {
        for decl in doc.declarations().iter().filter(|d| d.kind == DeclKind::Type) {
            out.push(&decl.name, CompletionKind::Type, Some("type".into()), decl.doc.as_deref(), None);
        }
        return out.finish();
    }

    // Inside a block: an option, an option's value, a record's field type, or a `select`/`route` expression.
    if let Some(block) = scan.block(doc) {
        in_block(doc, &scan, block, &mut out, word_start);
        return out.finish();
    }

    // A transform's expression.
    if scan.transform_keyword(text).is_some_and(|k| matches!(k, "where" | "set")) {
        expression(doc, &scan, &mut out, word_start);
        return out.finish();
    }

    // `parse ` and `parse json as `.
    if before.ends_with("parse") {
        for format in doc.registry.formats {
            out.push(format.name, CompletionKind::Value, Some(format.summary.into()), None, None);
        }
        return out.finish();
    }
    if before.ends_with(" as") && before.contains("parse") {
        for decl in doc.declarations().iter().filter(|d| d.kind == DeclKind::Type) {
            out.push(&decl.name, CompletionKind::Type, Some("type".into()), decl.doc.as_deref(), None);
        }
        return out.finish();
    }

    // The start of a statement: a declaration keyword, or a pipeline's first node.
    if before_on_line.is_empty() && word_start == line_start {
        for keyword in DECLARATION_KEYWORDS {
            out.push(keyword, CompletionKind::Keyword, None, None, None);
        }
        for keyword in TEST_KEYWORDS {
            out.push(keyword, CompletionKind::Keyword, Some("flowc test".into()), None, None);
        }
        for decl in doc.declarations() {
            if matches!(decl.kind, DeclKind::Source | DeclKind::Channel | DeclKind::Topic) {
                out.push(&decl.name, CompletionKind::Name, Some(decl.kind.as_str().into()), decl.doc.as_deref(), None);
            }
        }
    } else if before.ends_with('|') {
        for keyword in ["where", "set", "select", "drop", "parse"] {
            out.push(keyword, CompletionKind::Keyword, Some("transform".into()), None, None);
        }
    }
    out.finish()
}

/// The units a number being typed may take: those of the option's type, or all.
fn units(doc: &Document, scan: &Scan, out: &mut Completions, word: &str, word_start: usize, offset: usize) {
    let unit_at = word.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(word.len());
    out.replace = Span::new(word_start + unit_at, offset);
    out.prefix = word[unit_at..].to_string();
    let wanted = scan.option_param(doc).map(|p| p.ty);
    let (durations, sizes) = match wanted {
        Some(ParamType::Duration) => (true, false),
        Some(ParamType::Size) => (false, true),
        Some(_) => (false, false),
        None => (true, true),
    };
    let units = DURATION_UNITS.iter().filter(|_| durations).chain(SIZE_UNITS.iter().filter(|_| sizes));
    for unit in units {
        out.push(unit.name, CompletionKind::Unit, Some(unit.doc.to_string()), None, None);
    }
}

/// After `source x = ` (or `channel`, `sink`): the connector kinds of that role; `false` elsewhere.
fn connector_kinds(doc: &Document, words: &[&str], out: &mut Completions) -> bool {
    let role = match words {
        ["source", _, "="] => Role::Source,
        ["channel", _, "="] => Role::Channel,
        ["sink", _, "="] => Role::Sink,
        _ => return false,
    };
    for sig in doc.registry.connectors_of(role) {
        out.push(sig.kind, CompletionKind::Connector, Some(sig.summary.to_string()), Some(sig.doc), None);
    }
    true
}

/// Inside a block: an option, an option's value, a record's field type, or a `select`/`route` expression.
fn in_block(doc: &Document, scan: &Scan, block: Block, out: &mut Completions, word_start: usize) {
    match block {
        Block::Options(params) => match scan.key_before_equals() {
            Some(key) => option_values(doc, scan, out, params.iter().find(|p| p.name == key)),
            None => {
                let given = scan.keys_given();
                for param in params.iter().filter(|p| !given.contains(&p.name)) {
                    out.push(
                        param.name,
                        CompletionKind::Option,
                        Some(option_detail(param)),
                        Some(param.doc),
                        Some(format!("{} = ", param.name)),
                    );
                }
            }
        },
        Block::TypeFields => {
            if scan.after_colon() {
                for ty in BUILTIN_TYPES {
                    out.push(ty, CompletionKind::Type, None, None, None);
                }
                for decl in doc.declarations().iter().filter(|d| d.kind == DeclKind::Type) {
                    out.push(&decl.name, CompletionKind::Type, Some("type".into()), decl.doc.as_deref(), None);
                }
            }
        }
        Block::Expression => {
            expression(doc, scan, out, word_start);
        }
        Block::Test => test_entry(doc, scan, out),
    }
}

/// `input`/`expect` at an entry's start, then the nodes each may name.
fn test_entry(doc: &Document, scan: &Scan, out: &mut Completions) {
    let entry = scan.current_entry();
    let words: Vec<&str> = entry.split_whitespace().collect();
    let typing_word = !entry.ends_with(char::is_whitespace);
    let wanted: &[DeclKind] = match words.as_slice() {
        [] | [_] if typing_word || words.is_empty() => {
            for word in ["input", "expect"] {
                let doc_text = flowc_compiler::syntax::keywords::test_word_doc(word);
                out.push(word, CompletionKind::Keyword, Some("flowc test".into()), doc_text, Some(format!("{word} ")));
            }
            return;
        }
        ["input"] | ["input", _] => &[DeclKind::Source, DeclKind::Channel, DeclKind::Topic],
        ["expect"] | ["expect", _] => &[DeclKind::Channel, DeclKind::Topic, DeclKind::Sink],
        _ => return,
    };
    for decl in doc.declarations().iter().filter(|d| wanted.contains(&d.kind)) {
        out.push(&decl.name, CompletionKind::Name, Some(decl.kind.as_str().into()), decl.doc.as_deref(), None);
    }
}

struct Completions {
    items: Vec<Completion>,
    replace: Span,
    prefix: String,
}

impl Completions {
    fn push(
        &mut self,
        label: &str,
        kind: CompletionKind,
        detail: Option<String>,
        documentation: Option<&str>,
        insert_text: Option<String>,
    ) {
        if !label.starts_with(self.prefix.as_str()) || self.items.iter().any(|c| c.label == label) {
            return;
        }
        self.items.push(Completion {
            label: label.to_string(),
            kind,
            detail,
            documentation: documentation.filter(|d| !d.is_empty()).map(str::to_string),
            insert_text,
            replace: self.replace,
        });
    }

    fn finish(self) -> Vec<Completion> {
        self.items
    }
}

fn option_detail(param: &ParamSig) -> String {
    let mut out = param.ty.describe();
    if param.required {
        out.push_str(", required");
    } else if let Some(default) = param.default {
        out.push_str(&format!(", default {default}"));
    }
    out
}

fn option_values(doc: &Document, scan: &Scan, out: &mut Completions, param: Option<&'static ParamSig>) {
    let Some(param) = param else { return };
    let ty = match param.ty {
        ParamType::List(item) => *item,
        other => other,
    };
    match ty {
        ParamType::Enum(words) => {
            for word in words {
                out.push(word, CompletionKind::Value, Some(param.name.into()), None, None);
            }
        }
        ParamType::Bool => {
            for word in ["true", "false"] {
                out.push(word, CompletionKind::Value, None, None, None);
            }
        }
        ParamType::SinkRef | ParamType::TopicRef => {
            let wanted = if ty == ParamType::SinkRef { DeclKind::Sink } else { DeclKind::Topic };
            for decl in doc.declarations().iter().filter(|d| d.kind == wanted) {
                out.push(&decl.name, CompletionKind::Name, Some(decl.kind.as_str().into()), decl.doc.as_deref(), None);
            }
        }
        // `key = ` of a topic, `time_field = ` of a sink: the fields of the records it holds or receives.
        ParamType::Field => {
            let Some(owner) = scan.block_owner() else { return };
            // The entry being written does not parse yet (`key = `): check the text without it.
            let start = scan.offset - scan.current_entry().len();
            let end = doc.text[scan.offset..].find([',', '}', '\n']).map_or(doc.text.len(), |i| scan.offset + i);
            let analysis = flowc_compiler::analyze(FileId(0), &blanked(&doc.text, start, end), doc.registry);
            let program = &analysis.program;
            let Some(index) = program.node_by_name(owner) else { return };
            let stream = program.graph[index].output.clone().or_else(|| {
                program.graph.edges_directed(index, petgraph::Direction::Incoming).find_map(|e| e.weight().ty.clone())
            });
            if let Some(stream) = stream {
                fields(out, &stream.record);
            }
        }
        _ => {}
    }
}

/// Fields of the stream flowing into the transform at the cursor (descending `a.b.`), and functions.
fn expression(doc: &Document, scan: &Scan, out: &mut Completions, word_start: usize) {
    let text = doc.text.as_str();
    let mut path: Vec<&str> = Vec::new();
    let mut at = word_start;
    while at > 0 && text.as_bytes()[at - 1] == b'.' {
        let (start, word) = word_before(text, at - 1);
        if word.is_empty() {
            break;
        }
        path.insert(0, word);
        at = start;
    }
    if let Some(stream) = stream_into_transform(doc, scan) {
        let mut record = Some(&stream.record);
        for part in &path {
            record = record.and_then(|r| r.field(part)).and_then(|f| match f.ty.base() {
                Type::Record(inner) => Some(inner),
                _ => None,
            });
        }
        if let Some(record) = record {
            fields(out, record);
        }
    }
    if path.is_empty() {
        for sig in doc.registry.functions {
            let params: Vec<String> = sig.params.iter().map(|p| format!("{p:?}").to_lowercase()).collect();
            out.push(
                sig.name,
                CompletionKind::Function,
                Some(format!("({}) -> {}", params.join(", "), format!("{:?}", sig.returns).to_lowercase())),
                Some(sig.doc),
                Some(format!("{}(", sig.name)),
            );
        }
        for word in ["and", "or", "not", "in", "true", "false", "null"] {
            out.push(word, CompletionKind::Keyword, None, None, None);
        }
    }
}

fn fields(out: &mut Completions, record: &RecordType) {
    for field in &record.fields {
        out.push(&field.name, CompletionKind::Field, Some(field.ty.to_string()), None, None);
    }
}

/// The stream type entering the transform being written: the pipeline is cut at that transform's `|`
/// (the rest blanked, offsets kept), checked again, and the type leaving the last stage before the cut
/// is read from the graph. This works whether or not the transform being typed parses yet.
fn stream_into_transform(doc: &Document, scan: &Scan) -> Option<StreamType> {
    let text = doc.text.as_str();
    let cut = scan.route_start.or(scan.last_pipe)?;
    let mut end = text[cut..].find('\n').map_or(text.len(), |i| cut + i);
    // Continuation lines belong to the statement being cut.
    while end < text.len() {
        let next_end = text[end + 1..].find('\n').map_or(text.len(), |i| end + 1 + i);
        let line = &text[end + 1..next_end];
        let continues = line.starts_with(char::is_whitespace) && !line.trim().is_empty()
            || line.trim_start().starts_with('|')
            || line.trim_start().starts_with("->");
        if !continues {
            break;
        }
        end = next_end;
    }
    let repaired = blanked(text, cut, end);
    let analysis = flowc_compiler::analyze(FileId(0), &repaired, doc.registry);
    let program = &analysis.program;
    let by_name = |name: &str| program.node_by_name(name).and_then(|i| program.graph[i].output.clone());
    // `web | where …` cut to `web`, which alone is not a statement: the head's own output.
    let head = text[scan.stmt_start.min(cut)..cut].trim();
    if super::is_valid_name(head) {
        return by_name(head);
    }
    let stmt = analysis
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Flow(stmt) if stmt.span.start <= cut && stmt.span.start >= scan.stmt_start => Some(stmt),
            _ => None,
        })
        .max_by_key(|stmt| stmt.span.start)?;
    match stmt.stages.last() {
        None => by_name(&stmt.head.name),
        Some(Stage::Edge(Target::Node(ident))) => by_name(&ident.name),
        Some(Stage::Pipe(transform)) => program
            .graph
            .node_weights()
            .find(|n| n.span == transform.span && matches!(n.kind, NodeKind::Transform(_)))
            .and_then(|n| n.output.clone()),
        Some(Stage::Edge(Target::Group(_, span))) => program
            .graph
            .node_weights()
            .find(|n| n.span == *span && matches!(n.kind, NodeKind::Group { .. }))
            .and_then(|n| n.output.clone()),
        Some(_) => None,
    }
}

/// `text` with `start..end` blanked: one space per byte, line breaks kept, so every offset stays where
/// it was (a Chinese character is 3 bytes, 3 spaces).
fn blanked(text: &str, start: usize, end: usize) -> String {
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    for ch in text[start..end].chars() {
        match ch {
            '\n' => out.push('\n'),
            other => out.extend(std::iter::repeat_n(' ', other.len_utf8())),
        }
    }
    out.push_str(&text[end..]);
    out
}

/// What encloses the cursor, found by a lexical pass over the text before it.
struct Scan<'t> {
    text: &'t str,
    offset: usize,
    in_string: bool,
    in_comment: bool,
    /// Open brackets: the byte and its offset.
    open: Vec<(u8, usize)>,
    /// Where the statement holding the cursor starts.
    stmt_start: usize,
    /// The last `|` of that statement outside brackets: the transform being written.
    last_pipe: Option<usize>,
    /// The `route` keyword's offset, when the cursor is inside its block.
    route_start: Option<usize>,
    /// Inside `-> [ … ]`.
    in_fanout: bool,
}

/// The kind of `{ … }` block the cursor is in.
enum Block {
    Options(&'static [ParamSig]),
    TypeFields,
    Expression,
    /// The entries of a `test "name" { … }` block (not inside one of its lists).
    Test,
}

impl<'t> Scan<'t> {
    fn new(text: &'t str, offset: usize) -> Scan<'t> {
        let bytes = text.as_bytes();
        let mut scan = Scan {
            text,
            offset,
            in_string: false,
            in_comment: false,
            open: Vec::new(),
            stmt_start: 0,
            last_pipe: None,
            route_start: None,
            in_fanout: false,
        };
        let mut i = 0;
        while i < offset {
            match bytes[i] {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                    if end >= offset {
                        scan.in_comment = true;
                        return scan;
                    }
                    i = end;
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                    Some(n) if i + 2 + n + 2 <= offset => {
                        i = i + 2 + n + 2;
                        continue;
                    }
                    _ => {
                        scan.in_comment = true;
                        return scan;
                    }
                },
                b'"' => {
                    let mut j = i + 1;
                    while j < bytes.len() && bytes[j] != b'"' && bytes[j] != b'\n' {
                        j += if bytes[j] == b'\\' { 2 } else { 1 };
                    }
                    if j >= offset {
                        scan.in_string = true;
                        return scan;
                    }
                    i = j + 1;
                    continue;
                }
                b'{' | b'[' | b'(' => scan.open.push((bytes[i], i)),
                b'}' | b']' | b')' => {
                    scan.open.pop();
                }
                b'|' if scan.open.is_empty() => scan.last_pipe = Some(i),
                b'\n' if scan.open.is_empty() && starts_statement(text, i + 1) => {
                    scan.stmt_start = i + 1;
                    scan.last_pipe = None;
                }
                _ => {}
            }
            i += 1;
        }
        if let Some(&(b'{', at)) = scan.open.first() {
            let header = text[scan.stmt_start.min(at)..at].trim_end();
            if let Some(before_route) = header.strip_suffix("route") {
                // The cut for the stream type is the `->` before `route`.
                scan.route_start = before_route.trim_end().strip_suffix("->").map(|b| scan.stmt_start + b.len());
            }
        }
        scan.in_fanout = matches!(scan.open.last(), Some(&(b'[', at)) if text[..at].trim_end().ends_with("->"));
        scan
    }

    /// The innermost `{ … }` around the cursor, with the options it takes.
    fn block(&self, doc: &Document) -> Option<Block> {
        let braces: Vec<usize> = self.open.iter().filter(|(b, _)| *b == b'{').map(|(_, at)| *at).collect();
        let outer = *braces.first()?;
        let header = self.text[self.stmt_start.min(outer)..outer].trim();
        if self.route_start.is_some() {
            return Some(Block::Expression);
        }
        let words: Vec<&str> = header.split_whitespace().collect();
        let mut params: &'static [ParamSig] = match words.as_slice() {
            ["source", _, "=", kind] => doc.registry.connector(Role::Source, kind)?.params,
            ["channel", _, "=", kind] => doc.registry.connector(Role::Channel, kind)?.params,
            ["sink", _, "=", kind] => doc.registry.connector(Role::Sink, kind)?.params,
            ["topic", ..] if !header.ends_with(':') => doc.registry.topic_params,
            ["type", ..] => return Some(Block::TypeFields),
            ["test", name, ..] if name.starts_with('"') => {
                return (self.open.len() == 1).then_some(Block::Test);
            }
            _ if header.ends_with(':') => return Some(Block::TypeFields),
            _ if header.ends_with("select") => return Some(Block::Expression),
            [.., "parse", format] => doc.registry.format(format)?.params,
            _ => return None,
        };
        // Nested blocks: `roll = { … }` takes the record's own options.
        for pair in braces.windows(2) {
            let key = key_before_equals(&self.text[pair[0] + 1..pair[1]])?;
            params = match params.iter().find(|p| p.name == key)?.ty {
                ParamType::Record(inner) => inner,
                _ => return None,
            };
        }
        Some(Block::Options(params))
    }

    /// The name declared by the statement whose option block holds the cursor (`k` in `sink k = files {`).
    fn block_owner(&self) -> Option<&'t str> {
        let &(_, outer) = self.open.first()?;
        let header = self.text[self.stmt_start.min(outer)..outer].trim();
        let mut words = header.split_whitespace();
        match words.next()? {
            "source" | "channel" | "sink" | "topic" => words.next().map(|w| w.trim_end_matches(':')),
            _ => None,
        }
    }

    /// The text of the innermost block's current entry up to the cursor.
    fn current_entry(&self) -> &'t str {
        let from = self.open.last().map_or(self.stmt_start, |(_, at)| at + 1);
        let entry = &self.text[from..self.offset];
        let cut = entry.rfind([',', '\n', '{']).map_or(0, |i| i + 1);
        &entry[cut..]
    }

    /// `key` when the cursor is after `key = ` in the current entry (or in the list after `key = [`).
    fn key_before_equals(&self) -> Option<&'t str> {
        match self.open.as_slice() {
            [.., (outer, from), (b'[', list)] if *outer != b'[' => {
                let entry = &self.text[from + 1..*list];
                let cut = entry.rfind([',', '\n']).map_or(0, |i| i + 1);
                key_before_equals(&entry[cut..])
            }
            _ => key_before_equals(self.current_entry()),
        }
    }

    fn after_colon(&self) -> bool {
        self.current_entry().contains(':')
    }

    /// The option keys already given in the innermost block.
    fn keys_given(&self) -> Vec<&'t str> {
        let Some(&(_, at)) = self.open.last() else { return Vec::new() };
        let block = &self.text[at + 1..];
        let end = block.find('}').unwrap_or(block.len());
        block[..end]
            .split([',', '\n'])
            .filter_map(|entry| entry.split_once('=').map(|(key, _)| key.trim()))
            .filter(|key| !key.is_empty())
            .collect()
    }

    /// The option being given a value at the cursor, e.g. `round` in `round = 10`.
    fn option_param(&self, doc: &Document) -> Option<&'static ParamSig> {
        let key = self.key_before_equals()?;
        match self.block(doc)? {
            Block::Options(params) => params.iter().find(|p| p.name == key),
            _ => None,
        }
    }

    /// The keyword after the statement's last `|` (`where`, `set`, …).
    fn transform_keyword(&self, text: &'t str) -> Option<&'t str> {
        let pipe = self.last_pipe?;
        text[pipe + 1..self.offset].split_whitespace().next()
    }
}

/// `key` in `key = …` (the last `=` of the entry, not `==`).
fn key_before_equals(entry: &str) -> Option<&str> {
    let bytes = entry.as_bytes();
    let eq = (0..bytes.len()).rev().find(|&i| {
        bytes[i] == b'=' && bytes.get(i + 1) != Some(&b'=') && (i == 0 || !b"=!<>".contains(&bytes[i - 1]))
    })?;
    let key = entry[..eq].trim();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(key)
}

/// Whether a line starting at `at` begins a new statement (a word at the start of the line, and the
/// line before does not end with an operator that continues it).
fn starts_statement(text: &str, at: usize) -> bool {
    if !text[at..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return false;
    }
    let previous = text[..at.saturating_sub(1)].rsplit('\n').next().unwrap_or("");
    let previous = previous.split("//").next().unwrap_or(previous).trim_end();
    let continued = ["->", "|", "=", ",", "+", "-", "*", "/", "%", "<", ">", " and", " or", " not", "("]
        .iter()
        .any(|op| previous.ends_with(op));
    !continued
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::cursor;

    fn labels(fixture: &str) -> Vec<String> {
        let (text, offset) = cursor(fixture);
        completions(&Document::new(text), offset).into_iter().map(|c| c.label).collect()
    }

    fn has(fixture: &str, wanted: &[&str]) {
        let got = labels(fixture);
        for w in wanted {
            assert!(got.iter().any(|g| g == w), "`{w}` not offered in {got:?} for:\n{fixture}");
        }
    }

    fn lacks(fixture: &str, unwanted: &[&str]) {
        let got = labels(fixture);
        for u in unwanted {
            assert!(!got.iter().any(|g| g == u), "`{u}` offered in {got:?} for:\n{fixture}");
        }
    }

    const TYPED: &str = "type Geo = { country: string }\n\
        type Access = { host: string, status: int, geo: Geo }\n\
        source web = tail { path = \"a\" }\n\
        sink show = logger {}\n\
        channel c = memory {}\n";

    #[test]
    fn test_blocks_offer_their_words_and_the_nodes_each_may_name() {
        let block = |entry: &str| format!("{TYPED}web -> c -> show\ntest \"t\" {{\n  {entry}\n}}\n");
        has(&block("$0"), &["input", "expect"]);
        has(&block("exp$0"), &["expect"]);
        lacks(&block("exp$0"), &["input"]);
        has(&block("input $0"), &["web", "c"]);
        lacks(&block("input $0"), &["show", "Access", "input"]);
        has(&block("expect s$0"), &["show"]);
        lacks(&block("expect $0"), &["web"]);
        lacks(&block("input web = [$0]"), &["input", "expect"]);
    }

    #[test]
    fn connector_kinds_after_a_declaration() {
        has("source x = $0", &["spooldir", "tail", "exec"]);
        lacks("source x = $0", &["logger", "memory"]);
        has("sink out = fi$0", &["files"]);
        lacks("sink out = fi$0", &["logger"]);
        has("channel c = $0\nsource s = stdin\n", &["memory", "file"]);
    }

    #[test]
    fn option_names_with_type_and_default() {
        let (text, offset) = cursor("channel c = memory { capacity = 5, $0 }\n");
        let items = completions(&Document::new(text), offset);
        let keep = items.iter().find(|c| c.label == "keep_alive").expect("keep_alive offered");
        assert_eq!(keep.insert_text.as_deref(), Some("keep_alive = "));
        assert!(keep.detail.as_deref().unwrap().starts_with("duration"), "{keep:?}");
        assert!(!items.iter().any(|c| c.label == "capacity"), "already given");
        has("sink k = files {\n  path = \"out/\"\n  ro$0\n}\n", &["roll", "round"]);
        has("sink k = files { roll = { $0 } }\n", &["interval", "size", "count"]);
        has("topic t { $0 }\n", &["partitions", "retention"]);
        has(&format!("{TYPED}web | parse csv {{ $0 }} as Access -> show\n"), &["delimiter", "header"]);
        has(&format!("{TYPED}web | parse csv {{ header = $0 }} as Access -> show\n"), &["true", "false"]);
    }

    #[test]
    fn option_values() {
        has("sink k = files { format = $0 }\n", &["parquet", "json"]);
        has("sink a = logger\nsink g = failover { sinks = [$0] }\n", &["a"]);
        // Field-valued options: the topic's own fields, the fields a sink receives.
        has(&format!("{TYPED}topic t: Access {{ key = $0 }}\n"), &["host", "status"]);
        has(
            &format!("{TYPED}type T = {{ ts: timestamp }}\nsink f = files {{ path = \"o/%H/\", time_field = $0 }}\nweb | parse json as T -> f\n"),
            &["ts"],
        );
        has(&format!("{TYPED}topic t: $0"), &["Access", "Geo"]);
        has(&format!("{TYPED}topic t:$0 {{}}"), &["Access"]);
    }

    #[test]
    fn declared_names_after_an_arrow() {
        let fixture = format!("{TYPED}web -> $0");
        has(&fixture, &["show", "c"]);
        lacks(&fixture, &["web", "Access"]);
        has(&format!("{TYPED}web -> [show, $0"), &["c"]);
        has(&format!("{TYPED}web -> route {{ line =~ \"x\" => $0"), &["show"]);
    }

    #[test]
    fn record_fields_in_expressions() {
        has(&format!("{TYPED}web | parse json as Access | where $0"), &["host", "status", "geo", "now"]);
        has(&format!("{TYPED}web | parse json as Access | where st$0 -> show\n"), &["status"]);
        has(&format!("{TYPED}web | parse json as Access | where geo.$0"), &["country"]);
        lacks(&format!("{TYPED}web | parse json as Access | where geo.$0"), &["host"]);
        has(&format!("{TYPED}web | parse json as Access\n  | set h = $0\n  -> show\n"), &["host"]);
        has(&format!("{TYPED}web | parse json as Access | select {{ $0 }} -> show\n"), &["host"]);
        has(&format!("{TYPED}web | where $0"), &["line"]);
        has(&format!("{TYPED}web | parse json as Access -> route {{ status > 4 => show, $0"), &["status"]);
    }

    #[test]
    fn units_after_a_number() {
        has("channel c = memory { keep_alive = 3$0 }\n", &["s", "ms", "m"]);
        lacks("channel c = memory { keep_alive = 3$0 }\n", &["KiB"]);
        has("sink k = logger { max_bytes = 4$0 }\n", &["KiB", "B"]);
        assert!(labels("topic t { partitions = 3$0 }\n").is_empty());
        let (text, offset) = cursor("channel c = memory { keep_alive = 10m$0 }\n");
        let items = completions(&Document::new(text), offset);
        assert!(items.iter().all(|c| c.label.starts_with('m')), "{items:?}");
        assert_eq!(items[0].replace, Span::new(offset - 1, offset));
    }

    #[test]
    fn nothing_inside_strings_and_comments() {
        assert!(labels("source x = tail { path = \"$0\" }").is_empty());
        assert!(labels("// 中文注释 source x = $0").is_empty());
    }

    #[test]
    fn statement_start() {
        has(&format!("{TYPED}$0"), &["source", "sink", "web", "c"]);
        has(&format!("{TYPED}web | $0"), &["where", "parse"]);
        has(&format!("{TYPED}web | parse $0"), &["json", "csv"]);
        has(&format!("{TYPED}web | parse json as $0"), &["Access"]);
    }
}
