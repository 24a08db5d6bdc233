//! `flowc check FILE...`: every mistake, where it is and what to do; and each path's delivery guarantee.

use super::{load, use_color, Loaded, EXIT_INPUT, EXIT_USAGE};
use crate::render::{self, JsonReport, JsonSummary};
use flowc_compiler::{FileId, Severity};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.flow` files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Do not print the delivery guarantee of each path.
    #[arg(long)]
    pub quiet: bool,
    /// Also connect to the Kafka brokers the files name: unreachable brokers (E0701) and missing
    /// topics (E0702) are reported. Without it, `check` never touches the network.
    #[arg(long)]
    pub online: bool,
}

/// How long `--online` waits for a cluster's metadata before calling its brokers unreachable.
const ONLINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub fn run(args: &Args) -> i32 {
    let registry = flowc_stdlib::registry();
    let color = use_color();
    let mut report =
        JsonReport { version: 1, diagnostics: Vec::new(), paths: Vec::new(), summary: JsonSummary::default() };
    let mut human = String::new();
    let mut io_failed = false;
    for (i, path) in args.files.iter().enumerate() {
        let file = FileId(i as u32);
        let (source, diagnostics, paths) = match load(path, file) {
            Loaded::Failed(message) => {
                eprintln!("{message}");
                io_failed = true;
                continue;
            }
            Loaded::NotUtf8(diag, lossy) => (lossy, vec![diag], Vec::new()),
            Loaded::Text(text) if super::test::named_pipeline(path, &text).is_some() => {
                // A tests-only file: checked against the pipeline it names (no paths of its own).
                let checked = match super::test::check_file(path, i as u32) {
                    Ok(checked) => checked,
                    Err(message) => {
                        eprintln!("{message}");
                        io_failed = true;
                        continue;
                    }
                };
                report.summary.files += 1;
                for (at, diag) in &checked.diagnostics {
                    let source = &checked.sources[*at];
                    match diag.severity {
                        Severity::Error => report.summary.errors += 1,
                        Severity::Warning => report.summary.warnings += 1,
                    }
                    match args.format {
                        Format::Json => {
                            report.diagnostics.push(render::json_diagnostic(diag, &source.path, &source.text))
                        }
                        Format::Human => human.push_str(&render::human(diag, &source.path, &source.text, color, 100)),
                    }
                }
                continue;
            }
            Loaded::Text(text) => {
                let analysis = flowc_compiler::analyze(file, &text, registry);
                let mut diagnostics = analysis.diagnostics;
                let paths = if diagnostics.iter().any(|d| d.is_error()) {
                    Vec::new()
                } else {
                    if args.online {
                        diagnostics.extend(flowc_stdlib::connectors::check_online(&analysis.program, ONLINE_TIMEOUT));
                    }
                    analysis.program.paths
                };
                (text, diagnostics, paths)
            }
        };
        report.summary.files += 1;
        for diag in &diagnostics {
            match diag.severity {
                Severity::Error => report.summary.errors += 1,
                Severity::Warning => report.summary.warnings += 1,
            }
            match args.format {
                Format::Json => report.diagnostics.push(render::json_diagnostic(diag, path, &source)),
                Format::Human => human.push_str(&render::human(diag, path, &source, color, 100)),
            }
        }
        if args.format == Format::Human && !args.quiet && !paths.is_empty() {
            human.push_str(&format!("{path}: delivery guarantees\n"));
        }
        for p in &paths {
            match args.format {
                Format::Json => report.paths.push(render::json_path(p, path)),
                Format::Human if !args.quiet => {
                    human.push_str(&format!("  {}: {} ({})\n", p.nodes.join(" -> "), p.guarantee.as_str(), p.reason));
                }
                Format::Human => {}
            }
        }
    }
    let failed = report.summary.errors > 0 || (args.deny_warnings && report.summary.warnings > 0);
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into());
            super::out(&format!("{text}\n"));
        }
        Format::Human => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(human.as_bytes());
            let verdict = if failed { "failed" } else { "ok" };
            let _ = writeln!(
                stdout,
                "check {verdict}: {} file{}, {} error{}, {} warning{}",
                report.summary.files,
                plural(report.summary.files),
                report.summary.errors,
                plural(report.summary.errors),
                report.summary.warnings,
                plural(report.summary.warnings)
            );
        }
    }
    if io_failed {
        EXIT_USAGE
    } else if failed {
        EXIT_INPUT
    } else {
        0
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
