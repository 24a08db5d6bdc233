//! `test "name" { … }` blocks: node names resolved against the pipeline's graph, events typed
//! against the stream at that node, and the shape of a test (something in, something expected).

use super::Ctx;
use crate::ast::{self, Item, TestDir, Value, ValueKind};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::graph::{Edge, Node, NodeKind, TestCase, TestEvents};
use crate::span::{FileId, Span};
use crate::suggest::did_you_mean;
use crate::types::{RecordType, StreamType, Type};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::collections::HashMap;

type Graph = DiGraph<Node, Edge>;

/// Checks the test blocks of `tests` (written in `file`) against `pipeline` and its graph; returns
/// the tests that have no errors, ready to run.
pub(crate) fn check(
    ctx: &mut Ctx,
    graph: &Graph,
    pipeline: &ast::File,
    tests: &ast::File,
    file: FileId,
) -> Vec<TestCase> {
    only_tests(ctx, tests);
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut out = Vec::new();
    for item in &tests.items {
        let Item::Test(block) = item else { continue };
        if let Some(first) = seen.get(block.name.as_str()) {
            ctx.diags.push(
                Diagnostic::error(codes::E0802, format!("two tests are named \"{}\"", block.name))
                    .at(block.name_span, "named again here")
                    .also(*first, "first named here")
                    .help("give each test its own name: the report lists tests by name"),
            );
        } else {
            seen.insert(&block.name, block.name_span);
        }
        let before = ctx.diags.iter().filter(|d| d.is_error()).count();
        let case = test_case(ctx, graph, pipeline, block, file);
        if ctx.diags.iter().filter(|d| d.is_error()).count() == before {
            out.push(case);
        }
    }
    out
}

/// A file that names its pipeline (`tests "x.flow"`) holds that line once and tests, nothing else.
fn only_tests(ctx: &mut Ctx, file: &ast::File) {
    let mut headers = file.items.iter().filter_map(|i| if let Item::Tests(d) = i { Some(d) } else { None });
    let Some(header) = headers.next() else { return };
    for again in headers {
        ctx.diags.push(
            Diagnostic::error(codes::E0807, "this file already names its pipeline")
                .at(again.span, "a second `tests` line")
                .also(header.span, "named here")
                .help("a tests file tests one pipeline file; put tests of another pipeline in a file of their own"),
        );
    }
    for item in &file.items {
        if matches!(item, Item::Tests(_) | Item::Test(_)) {
            continue;
        }
        ctx.diags.push(
            Diagnostic::error(codes::E0807, format!("a file that tests \"{}\" holds only tests", header.path))
                .at(item.span(), "a declaration or pipeline in a tests file")
                .also(header.span, "this file names its pipeline here")
                .help(format!("move it to \"{}\", or write the test blocks in the pipeline file itself", header.path)),
        );
    }
}

fn test_case(ctx: &mut Ctx, graph: &Graph, pipeline: &ast::File, block: &ast::TestBlock, file: FileId) -> TestCase {
    let mut case =
        TestCase { name: block.name.clone(), file, span: block.span, inputs: Vec::new(), expects: Vec::new() };
    let mut given: HashMap<(TestDir, &str), Span> = HashMap::new();
    for entry in &block.entries {
        let key = (entry.dir, entry.node.name.as_str());
        if let Some(&first) = given.get(&key) {
            let word = dir_word(entry.dir);
            ctx.diags.push(
                Diagnostic::error(codes::E0808, format!("`{word} {}` is given twice in this test", entry.node.name))
                    .at(entry.node.span, "given again here")
                    .also(first, "first given here")
                    .help("list all of the node's events in one list, in order"),
            );
            continue;
        }
        given.insert(key, entry.node.span);
        let Some(node) = resolve(ctx, graph, pipeline, entry) else { continue };
        let Some(stream) = stream_at(ctx, graph, node, entry) else { continue };
        let events = events(ctx, entry, stream.as_ref());
        let events = TestEvents { node, events, span: entry.node.span };
        match entry.dir {
            TestDir::Input => case.inputs.push(events),
            TestDir::Expect => case.expects.push(events),
        }
    }
    let (inputs, expects) = block.entries.iter().fold((0, 0), |(i, e), entry| match entry.dir {
        TestDir::Input => (i + 1, e),
        TestDir::Expect => (i, e + 1),
    });
    if inputs == 0 {
        ctx.diags.push(
            Diagnostic::error(codes::E0809, format!("test \"{}\" gives no input", block.name))
                .at(block.name_span, "nothing goes in")
                .help("give events to a source or node: `input web = [\"a line\"]`"),
        );
    }
    if expects == 0 {
        ctx.diags.push(
            Diagnostic::error(codes::E0806, format!("test \"{}\" expects nothing", block.name))
                .at(block.name_span, "this test cannot fail")
                .help("say what should arrive where: `expect out = [{ status = 200 }]`, or `expect out = []`"),
        );
    }
    unreachable_expects(ctx, graph, &case);
    case
}

fn dir_word(dir: TestDir) -> &'static str {
    match dir {
        TestDir::Input => "input",
        TestDir::Expect => "expect",
    }
}

/// The declared node an entry names: a source, channel, sink or topic of the pipeline.
fn resolve(ctx: &mut Ctx, graph: &Graph, pipeline: &ast::File, entry: &ast::TestEntry) -> Option<NodeIndex> {
    let name = &entry.node.name;
    let declared = |n: &Node| {
        matches!(
            n.kind,
            NodeKind::Source { .. } | NodeKind::Channel { .. } | NodeKind::Sink { .. } | NodeKind::Topic { .. }
        )
    };
    if let Some(index) = graph.node_indices().find(|&i| declared(&graph[i]) && &graph[i].name == name) {
        return Some(index);
    }
    // A statement of the pipeline that did not parse was reported there already.
    if pipeline.broken.iter().any(|b| b.declares.as_ref().is_some_and(|d| &d.name == name)) {
        return None;
    }
    let is_type = pipeline.items.iter().any(|i| matches!(i, Item::Type(t) if &t.name.name == name));
    let mut names: Vec<&str> = graph.node_weights().filter(|n| declared(n)).map(|n| n.name.as_str()).collect();
    names.sort();
    let help = match did_you_mean(name, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if names.is_empty() => "the pipeline declares no source, channel, sink or topic".to_string(),
        None => format!(
            "the pipeline's nodes are {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ),
    };
    let label = if is_type { format!("`{name}` is a type, not a node") } else { "no such node".to_string() };
    ctx.diags.push(
        Diagnostic::error(codes::E0801, format!("the pipeline has no source, channel, sink or topic `{name}`"))
            .at(entry.node.span, label)
            .help(help),
    );
    None
}

/// The stream an entry's events are typed against: what the node emits (input) or receives
/// (expect). `Some(None)` when the pipeline's errors left it unknown.
fn stream_at(ctx: &mut Ctx, graph: &Graph, node: NodeIndex, entry: &ast::TestEntry) -> Option<Option<StreamType>> {
    let n = &graph[node];
    match (entry.dir, &n.kind) {
        (TestDir::Input, NodeKind::Sink { .. }) => {
            ctx.diags.push(
                Diagnostic::error(codes::E0804, format!("`{}` is a sink: nothing comes out of it", n.name))
                    .at(entry.node.span, "a sink only receives")
                    .help(format!("give the events to a node before it, and `expect {} = […]`", n.name)),
            );
            None
        }
        (TestDir::Expect, NodeKind::Source { .. }) => {
            ctx.diags.push(
                Diagnostic::error(codes::E0805, format!("`{}` is a source: nothing arrives at it", n.name))
                    .at(entry.node.span, "a source only emits")
                    .help("expect the events at a channel, topic or sink after it"),
            );
            None
        }
        (TestDir::Input, _) => Some(n.output.clone()),
        (TestDir::Expect, _) => {
            let incoming = graph.edges_directed(node, Direction::Incoming).find_map(|e| e.weight().ty.clone());
            Some(incoming.or_else(|| n.output.clone()))
        }
    }
}

/// The entry's events, each checked against `stream` (when known).
fn events(ctx: &mut Ctx, entry: &ast::TestEntry, stream: Option<&StreamType>) -> Vec<Value> {
    let ValueKind::List(items) = &entry.events.kind else {
        ctx.diags.push(
            Diagnostic::error(codes::E0803, format!("the events of `{}` are a list", entry.node.name))
                .at(entry.events.span, format!("{}, not a list", entry.events.kind.describe()))
                .help("write them in brackets, in order: `[…]`, or `[]` for none"),
        );
        return Vec::new();
    };
    if let Some(stream) = stream {
        for event in items {
            event_fits(ctx, entry, event, stream);
        }
    }
    items.clone()
}

fn event_fits(ctx: &mut Ctx, entry: &ast::TestEntry, event: &Value, stream: &StreamType) {
    let complete = entry.dir == TestDir::Input;
    match &event.kind {
        ValueKind::Str(_) if stream.untyped => {}
        ValueKind::Record(record) => record_fits(ctx, record, &stream.record, complete, event.span),
        other => {
            let want = if stream.untyped { "a line (a string) or a record" } else { "a record `{ field = value }`" };
            ctx.diags.push(
                Diagnostic::error(codes::E0803, format!("an event at `{}` is {want}", entry.node.name))
                    .at(event.span, format!("{}, but `{}` carries {stream}", other.describe(), entry.node.name))
                    .help(format!("its records are {}", stream.record)),
            );
        }
    }
}

/// Checks a record value against a record type; `complete` wants every field that is not optional.
fn record_fits(ctx: &mut Ctx, record: &ast::Options, ty: &RecordType, complete: bool, span: Span) {
    for entry in &record.entries {
        match ty.field(&entry.key.name) {
            Some(field) => value_fits(ctx, &entry.value, &field.ty, complete, &entry.key.name),
            None => {
                let help = match did_you_mean(&entry.key.name, ty.field_names()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("the records are {ty}"),
                };
                ctx.diags.push(
                    Diagnostic::error(codes::E0803, format!("no field `{}` in these records", entry.key.name))
                        .at(entry.key.span, "not a field of the stream here")
                        .help(help),
                );
            }
        }
    }
    if !complete {
        return;
    }
    let missing: Vec<&str> = ty
        .fields
        .iter()
        .filter(|f| !matches!(f.ty, Type::Optional(_)) && !record.entries.iter().any(|e| e.key.name == f.name))
        .map(|f| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        let list = missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        ctx.diags.push(
            Diagnostic::error(codes::E0803, format!("an input event lacks {list}"))
                .at(span, "this event is incomplete")
                .help("an input event has every field that is not optional (`T?`); an `expect` may leave fields out"),
        );
    }
}

fn value_fits(ctx: &mut Ctx, value: &Value, ty: &Type, complete: bool, field: &str) {
    let fits = match (ty, &value.kind) {
        (Type::Error, _) | (_, ValueKind::Error) => true,
        (Type::Optional(_), ValueKind::Null) => true,
        (Type::Optional(inner), _) => return value_fits(ctx, value, inner, complete, field),
        (Type::String | Type::Bytes, ValueKind::Str(_)) => true,
        (Type::Int, ValueKind::Int(_)) | (Type::Float, ValueKind::Float(_) | ValueKind::Int(_)) => true,
        (Type::Bool, ValueKind::Bool(_)) | (Type::Duration, ValueKind::Duration(_)) => true,
        // Written as the logs write it: RFC 3339, `2000-10-10T20:55:36Z`.
        (Type::Timestamp, ValueKind::Str(s)) => looks_like_rfc3339(&s.value),
        (Type::List(item), ValueKind::List(values)) => {
            for v in values {
                value_fits(ctx, v, item, complete, field);
            }
            true
        }
        (Type::Record(record), ValueKind::Record(options)) => {
            record_fits(ctx, options, record, complete, value.span);
            true
        }
        _ => false,
    };
    if !fits {
        let help = match ty.base() {
            Type::Timestamp => "write a timestamp as an RFC 3339 string: \"2000-10-10T20:55:36Z\"".to_string(),
            Type::Record(_) => "write a record as `{ field = value }`".to_string(),
            other => format!("write a value of type {other}"),
        };
        ctx.diags.push(
            Diagnostic::error(codes::E0803, format!("field `{field}` is {ty}, not {}", value.kind.describe()))
                .at(value.span, format!("expected {ty}"))
                .help(help),
        );
    }
}

/// `YYYY-MM-DDTHH:MM:SS` followed by anything (fractions, `Z` or an offset; the runtime reads it).
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

/// W0010: an `expect` at a node none of the test's inputs lead to can only ever see nothing.
fn unreachable_expects(ctx: &mut Ctx, graph: &Graph, case: &TestCase) {
    if case.inputs.is_empty() {
        return;
    }
    for expect in &case.expects {
        let reached =
            case.inputs.iter().any(|input| petgraph::algo::has_path_connecting(graph, input.node, expect.node, None));
        if !reached {
            let name = &graph[expect.node].name;
            ctx.diags.push(
                Diagnostic::warning(codes::W0010, format!("no input of this test reaches `{name}`"))
                    .at(expect.span, "nothing this test puts in can arrive here")
                    .help(format!("give events to a node upstream of `{name}`, or expect them where the input goes")),
            );
        }
    }
}
