//! `flowc graph FILE`: the dataflow graph as DOT or Mermaid, with stream types and delivery guarantees.

use super::{load, use_color, Loaded, EXIT_INPUT, EXIT_USAGE};
use flowc_compiler::graph::{EdgeKind, NodeKind, Program};
use flowc_compiler::FileId;
use petgraph::visit::EdgeRef;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.flow` file to draw.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
}

pub fn run(args: &Args) -> i32 {
    let text = match load(&args.file, FileId(0)) {
        Loaded::Text(text) => text,
        Loaded::NotUtf8(diag, lossy) => {
            eprint!("{}", crate::render::human(&diag, &args.file, &lossy, use_color(), 100));
            return EXIT_INPUT;
        }
        Loaded::Failed(message) => {
            eprintln!("{message}");
            return EXIT_USAGE;
        }
    };
    let (program, diagnostics) = flowc_compiler::check(FileId(0), &text, flowc_stdlib::registry());
    let Some(program) = program else {
        for diag in diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", crate::render::human(diag, &args.file, &text, use_color(), 100));
        }
        eprintln!("graph: {} has errors; run `flowc check {}`", args.file, args.file);
        return EXIT_INPUT;
    };
    let out = match args.format {
        Format::Dot => dot(&program),
        Format::Mermaid => mermaid(&program),
    };
    super::out(&out);
    0
}

fn node_label(program: &Program, index: petgraph::graph::NodeIndex) -> (String, &'static str) {
    let node = &program.graph[index];
    let (label, shape) = match &node.kind {
        NodeKind::Source { connector, .. } => (format!("{}\\nsource: {}", node.name, connector.kind), "invhouse"),
        NodeKind::Channel { connector, .. } => (format!("{}\\nchannel: {}", node.name, connector.kind), "cylinder"),
        NodeKind::Sink { connector, .. } => (format!("{}\\nsink: {}", node.name, connector.kind), "house"),
        NodeKind::Topic { .. } => (format!("{}\\ntopic", node.name), "box3d"),
        NodeKind::Group { group, .. } => (format!("group \\\"{group}\\\""), "diamond"),
        NodeKind::Route(_) => ("route".to_string(), "diamond"),
        NodeKind::Transform(_) => (node.kind.role().to_string(), "box"),
    };
    (label, shape)
}

fn edge_label(program: &Program, edge: petgraph::graph::EdgeReference<'_, flowc_compiler::graph::Edge>) -> String {
    let ty = edge.weight().ty.as_ref().map(|t| t.to_string()).unwrap_or_default();
    match edge.weight().kind {
        EdgeKind::Data => ty,
        EdgeKind::RouteArm(i) => format!("arm {}: {ty}", i + 1),
        EdgeKind::DeadLetter => format!("rejected: {ty}"),
        EdgeKind::GroupMember => {
            let _ = program;
            format!("member: {ty}")
        }
    }
}

fn dot(program: &Program) -> String {
    let mut out = String::from("digraph flow {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for index in program.graph.node_indices() {
        let (label, shape) = node_label(program, index);
        let _ = writeln!(out, "  n{} [label=\"{}\", shape={}];", index.index(), label, shape);
    }
    for edge in program.graph.edge_references() {
        let style = if edge.weight().kind == EdgeKind::DeadLetter { ", style=dashed" } else { "" };
        let label = edge_label(program, edge).replace('"', "\\\"");
        let _ =
            writeln!(out, "  n{} -> n{} [label=\"{}\"{}];", edge.source().index(), edge.target().index(), label, style);
    }
    if !program.paths.is_empty() {
        out.push_str("  labelloc=b;\n  label=\"delivery:");
        for path in &program.paths {
            let _ = write!(out, "\\l{}: {}", path.nodes.join(" -> ").replace('"', "\\\""), path.guarantee.as_str());
        }
        out.push_str("\\l\";\n");
    }
    out.push_str("}\n");
    out
}

fn mermaid(program: &Program) -> String {
    let mut out = String::from("flowchart LR\n");
    for index in program.graph.node_indices() {
        let (label, _) = node_label(program, index);
        let label = label.replace("\\n", "<br/>").replace("\\\"", "#quot;");
        let node = &program.graph[index];
        let (open, close) = match node.kind {
            NodeKind::Source { .. } => ("[/", "/]"),
            NodeKind::Channel { .. } => ("[(", ")]"),
            NodeKind::Sink { .. } => ("[\\", "\\]"),
            NodeKind::Topic { .. } => ("[[", "]]"),
            NodeKind::Group { .. } | NodeKind::Route(_) => ("{", "}"),
            NodeKind::Transform(_) => ("(", ")"),
        };
        let _ = writeln!(out, "  n{}{}\"{}\"{}", index.index(), open, label, close);
    }
    for edge in program.graph.edge_references() {
        let label = edge_label(program, edge).replace('"', "#quot;");
        let arrow = if edge.weight().kind == EdgeKind::DeadLetter { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{} {}|\"{}\"| n{}", edge.source().index(), arrow, label, edge.target().index());
    }
    for path in &program.paths {
        let _ =
            writeln!(out, "  %% delivery: {}: {} ({})", path.nodes.join(" -> "), path.guarantee.as_str(), path.reason);
    }
    out
}
