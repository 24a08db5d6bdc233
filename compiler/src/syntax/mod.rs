//! Syntax: source text to AST, reporting every broken statement, not just the first.

mod errors;
pub mod keywords;
pub mod literals;
mod lower;
mod parser;
mod scan;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::span::FileId;
use parser::{FlowParser, Rule};
use pest::Parser as _;

/// Parses a whole file. Broken statements are reported and left out of the AST.
pub fn parse(file: FileId, source: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let chunks = scan::scan(source, &mut diags);
    let mut lowerer = lower::Lowerer { source, offset: 0, diags: Vec::new() };
    let mut items = Vec::new();
    let mut broken = Vec::new();
    // One parse of the whole file when it is sound (fewest instructions); statement by statement
    // when it is not, so every broken statement is reported.
    let whole_ok = !chunks.iter().any(|c| c.broken);
    let parsed_whole = if whole_ok { FlowParser::parse(Rule::file, source).ok() } else { None };
    match parsed_whole {
        Some(pairs) => lowerer.file(pairs, &mut items),
        None => {
            for chunk in &chunks {
                if chunk.broken {
                    broken.push(scan::salvage(source, chunk.span));
                    continue;
                }
                let text = &source[chunk.span.start..chunk.span.end];
                match FlowParser::parse(Rule::file, text) {
                    Ok(pairs) => {
                        lowerer.offset = chunk.span.start;
                        lowerer.file(pairs, &mut items);
                    }
                    Err(err) => {
                        // pest records the punctuation it expected only when asked to; ask once a
                        // statement fails (and from then on), and parse the statement again.
                        pest::set_error_detail(true);
                        let err = FlowParser::parse(Rule::file, text).err().unwrap_or(err);
                        diags.push(errors::syntax_error(&err, source, chunk.span.start, chunk.span.end));
                        broken.push(scan::salvage(source, chunk.span));
                    }
                }
            }
        }
    }
    diags.append(&mut lowerer.diags);
    for diag in &mut diags {
        diag.file = file;
    }
    (ast::File { items, broken }, diags)
}

/// Decodes a file's bytes, or reports where it stops being UTF-8 (E0109).
pub fn decode(file: FileId, bytes: &[u8]) -> Result<&str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|err| {
        let at = err.valid_up_to();
        let (line, _) = crate::span::line_col(std::str::from_utf8(&bytes[..at]).unwrap_or(""), at);
        Diagnostic::error("E0109", format!("the file is not valid UTF-8 (byte {at}, line {line})"))
            .at(crate::span::Span::new(at, at), "invalid UTF-8 starts here")
            .help("save the file as UTF-8; .flow files are text")
            .in_file(file)
    })
}
