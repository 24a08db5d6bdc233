//! Rendering diagnostics for people (miette's graphical report) and for tools (JSON).

use flowc_compiler::graph::PathReport;
use flowc_compiler::span::line_col;
use flowc_compiler::{Diagnostic, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use serde::Serialize;

/// One diagnostic rendered as text: colour only when asked, wrapped at `width`.
pub fn human(diagnostic: &Diagnostic, path: &str, source: &str, color: bool, width: usize) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
    let report = miette::Report::new(diagnostic.clone()).with_source_code(NamedSource::new(path, source.to_string()));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{}[{}]: {}\n", diagnostic.severity.as_str(), diagnostic.code, diagnostic.message);
    }
    out
}

/// The `--format json` document: version 1, documented in docs/check-json.md.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub version: u32,
    pub diagnostics: Vec<JsonDiagnostic>,
    pub paths: Vec<JsonPath>,
    pub summary: JsonSummary,
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub file: String,
    #[serde(flatten)]
    pub range: JsonRange,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub message: String,
    pub primary: bool,
    #[serde(flatten)]
    pub range: JsonRange,
}

/// Positions: 1-based lines and columns (in characters), and 0-based byte offsets, end exclusive.
#[derive(Debug, Serialize)]
pub struct JsonRange {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub start_byte: usize,
    pub end_byte: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonPath {
    pub file: String,
    pub nodes: Vec<String>,
    pub guarantee: &'static str,
    pub reason: String,
}

#[derive(Debug, Serialize, Default)]
pub struct JsonSummary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
}

fn range(source: &str, start: usize, end: usize) -> JsonRange {
    let (line, column) = line_col(source, start);
    let (end_line, end_column) = line_col(source, end);
    JsonRange { line, column, end_line, end_column, start_byte: start, end_byte: end }
}

pub fn json_diagnostic(diagnostic: &Diagnostic, path: &str, source: &str) -> JsonDiagnostic {
    let primary = &diagnostic.primary;
    let mut labels = vec![JsonLabel {
        message: primary.message.clone(),
        primary: true,
        range: range(source, primary.span.start, primary.span.end),
    }];
    labels.extend(diagnostic.secondary.iter().map(|label| JsonLabel {
        message: label.message.clone(),
        primary: false,
        range: range(source, label.span.start, label.span.end),
    }));
    JsonDiagnostic {
        code: diagnostic.code,
        severity: match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        message: diagnostic.message.clone(),
        file: path.to_string(),
        range: range(source, primary.span.start, primary.span.end),
        labels,
        help: diagnostic.help.clone(),
    }
}

pub fn json_path(report: &PathReport, path: &str) -> JsonPath {
    JsonPath {
        file: path.to_string(),
        nodes: report.nodes.clone(),
        guarantee: report.guarantee.as_str(),
        reason: report.reason.clone(),
    }
}
