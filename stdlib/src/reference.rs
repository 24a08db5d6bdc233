//! The generated connector reference (`docs/connectors.md`), rendered from the registry.
//!
//! `tests/reference_doc.rs` fails when the committed file differs from [`reference_markdown`]; run it
//! with `UPDATE_DOCS=1` to rewrite the file.

use std::fmt::Write as _;

use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamSig, ParamType, Registry, Role, StreamIn, StreamOut};

/// The command that regenerates `docs/connectors.md`.
pub const REGENERATE: &str = "UPDATE_DOCS=1 cargo test -p flowc-stdlib --test reference_doc";

/// The whole connector reference as Markdown.
pub fn reference_markdown() -> String {
    render(crate::registry())
}

/// Render a registry (any registry: tests may render a small one).
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    out.push_str("# Connector reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the flowc-stdlib catalogue by `reference_markdown()`; do not edit by hand. \
Regenerate with `{REGENERATE}`. -->\n"
    );
    out.push_str(
        "Every source, channel and sink flowc knows, with its options, their types and defaults as \
written in a `.flow` file, and the delivery guarantee it keeps. `flowc check` reads the same table, so \
an option missing here is an error there. Delivery guarantees, weakest first:\n\n",
    );
    for (guarantee, meaning) in [
        (Guarantee::BestEffort, "events may be lost or repeated at any time; the source cannot replay."),
        (Guarantee::AtMostOnceOnCrash, "nothing is lost while the process runs; a crash loses what is held in memory."),
        (Guarantee::AtLeastOnce, "every event is delivered at least once, across crashes."),
    ] {
        let _ = writeln!(out, "- **{}**: {meaning}", guarantee.as_str());
    }
    out.push_str(
        "\nA path's guarantee is the weakest of its connectors'; `flowc check` reports it for every \
source-to-sink path.\n\n",
    );

    out.push_str("## Contents\n\n");
    for (role, title) in ROLES {
        let kinds: Vec<String> = registry
            .connectors_of(role)
            .map(|sig| format!("[`{}`](#{}-{})", sig.kind, role.as_str(), anchor(sig.kind)))
            .collect();
        let _ = writeln!(out, "- {title}: {}", kinds.join(", "));
    }
    out.push_str("- [Topic options](#topic-options), [Parse formats](#parse-formats), [Functions](#functions)\n\n");

    for (role, title) in ROLES {
        let _ = writeln!(out, "## {title}\n");
        for sig in registry.connectors_of(role) {
            connector(&mut out, sig);
        }
    }

    out.push_str("## Topic options\n\n");
    out.push_str(
        "Options of a topic declaration, `topic name: Type { … }` (Kafka's topic configs). A topic \
lives in the embedded log unless `brokers` binds it to an external Kafka cluster.\n\n",
    );
    params_table(&mut out, registry.topic_params);

    out.push_str("## Parse formats\n\n");
    out.push_str("Formats of the `parse FORMAT as T` transform.\n\n");
    for format in registry.formats {
        let _ = writeln!(out, "### `{}`\n\n{}\n", format.name, format.summary);
        if format.needs_pattern {
            let _ = writeln!(out, "Takes a pattern: `parse {} \"PATTERN\" as T`.\n", format.name);
        }
        if let Some(fields) = format.fields {
            out.push_str("The target type may use these fields (any subset):\n\n");
            out.push_str("| field | type |\n|---|---|\n");
            for (name, ty) in fields {
                let _ = writeln!(out, "| `{name}` | {} |", ty.as_str());
            }
            out.push('\n');
        }
        if !format.params.is_empty() {
            params_table(&mut out, format.params);
        }
    }

    out.push_str("## Functions\n\n");
    out.push_str("Functions callable in expressions (`where`, `set`, `select`).\n\n");
    out.push_str("| function | returns | doc |\n|---|---|---|\n");
    for function in registry.functions {
        let args: Vec<&str> = function.params.iter().map(|ty| ty.as_str()).collect();
        let _ = writeln!(
            out,
            "| `{}({})` | {} | {} |",
            function.name,
            args.join(", "),
            function.returns.as_str(),
            cell(function.doc)
        );
    }
    out
}

const ROLES: [(Role, &str); 3] = [(Role::Source, "Sources"), (Role::Channel, "Channels"), (Role::Sink, "Sinks")];

fn connector(out: &mut String, sig: &ConnectorSig) {
    let _ = writeln!(out, "### {} `{}`\n", sig.role.as_str(), sig.kind);
    let _ = writeln!(out, "{}\n", sig.summary);
    let _ = writeln!(out, "- **Guarantee:** {} — {}", sig.guarantee.as_str(), sig.guarantee_note);
    for weakening in sig.weaker_when {
        let values: Vec<String> = weakening.values.iter().map(|v| format!("`{} = {v}`", weakening.param)).collect();
        let _ =
            writeln!(out, "- **With {}:** {} — {}", values.join(" or "), weakening.guarantee.as_str(), weakening.note);
    }
    match sig.role {
        Role::Source => {
            let _ = writeln!(out, "- **Produces:** {}", output(sig.output));
        }
        Role::Channel | Role::Sink => {
            let _ = writeln!(out, "- **Accepts:** {}", input(sig.input));
        }
    }
    if let Some(flume) = sig.flume_name() {
        let _ = writeln!(out, "- **Replaces Flume's** `{flume}`");
    }
    let _ = writeln!(out, "\n{}\n", sig.doc);
    if sig.params.is_empty() {
        out.push_str("No options.\n\n");
    } else {
        params_table(out, sig.params);
    }
}

fn params_table(out: &mut String, params: &[ParamSig]) {
    out.push_str("| option | type | default | required | doc |\n|---|---|---|---|---|\n");
    for param in params {
        param_row(out, "", param);
    }
    out.push('\n');
}

fn param_row(out: &mut String, prefix: &str, param: &ParamSig) {
    let name = format!("{prefix}{}", param.name);
    let default = match param.default {
        Some(default) => format!("`{}`", cell(default)),
        None => "—".to_string(),
    };
    let required = if param.required { "yes" } else { "no" };
    let _ =
        writeln!(out, "| `{name}` | {} | {default} | {required} | {} |", cell(&param.ty.describe()), cell(param.doc));
    if let ParamType::Record(fields) = param.ty {
        for field in fields {
            param_row(out, &format!("{name}."), field);
        }
    }
}

fn output(out: StreamOut) -> String {
    match out {
        StreamOut::Lines => "untyped lines, `{ line: string }`".into(),
        StreamOut::TopicOf(param) => format!("records of the type of the topic named by `{param}`"),
        StreamOut::PassThrough => "its input, unchanged".into(),
        StreamOut::Record { fields, lines_when } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}{}", f.name, f.ty.as_str(), if f.optional { "?" } else { "" }))
                .collect();
            let record = format!("records `{{ {} }}`", fields.join(", "));
            match lines_when {
                Some((param, word)) => format!("{record}; untyped lines with `{param} = {word}`"),
                None => record,
            }
        }
    }
}

fn input(input: StreamIn) -> String {
    match input {
        StreamIn::Any => "any stream".into(),
        StreamIn::Record => "a typed record stream (not untyped lines)".into(),
        StreamIn::RecordWhen { param, values } => {
            let mut words: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            let last = words.pop().unwrap_or_default();
            let words = if words.is_empty() { last } else { format!("{} or {last}", words.join(", ")) };
            format!("any stream; a typed record stream when `{param}` is {words}")
        }
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// GitHub's heading anchor for `### {role} `{kind}``: lower case, spaces to `-`, `_` kept.
fn anchor(kind: &str) -> String {
    kind.to_lowercase()
}
