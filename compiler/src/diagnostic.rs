//! Diagnostics as plain data: a stable code, a severity, labelled spans and help.

use crate::codes::Code;
use crate::span::{FileId, Span};
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A span with a message saying what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding of the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// One of the [`codes`](crate::codes) constants, as text.
    pub code: &'static str,
    pub severity: Severity,
    pub file: FileId,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Warning, message)
    }

    fn new(code: Code, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: code.as_str(),
            severity,
            file: FileId::default(),
            message: message.into(),
            primary: Label { span: Span::default(), message: String::new() },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// The primary label: what is at the span that caused this.
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Label { span, message: label.into() };
        self
    }

    /// A secondary label, e.g. the other end of a mismatched edge.
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn in_file(mut self, file: FileId) -> Diagnostic {
        self.file = file;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = std::iter::once(miette::LabeledSpan::new_primary_with_span(
            Some(self.primary.message.clone()),
            (self.primary.span.start, self.primary.span.len()),
        ));
        let secondary = self.secondary.iter().map(|label| {
            miette::LabeledSpan::new_with_span(Some(label.message.clone()), (label.span.start, label.span.len()))
        });
        Some(Box::new(primary.chain(secondary)))
    }
}

/// Sorts diagnostics by position, errors before warnings at the same place.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.file.0, a.primary.span.start, std::cmp::Reverse(a.severity), a.code).cmp(&(
            b.file.0,
            b.primary.span.start,
            std::cmp::Reverse(b.severity),
            b.code,
        ))
    });
}
