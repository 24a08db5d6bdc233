//! Turns pest's parse errors into E0101 diagnostics that say what was expected, in words.

use super::parser::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::{floor_char_boundary, Span};

/// Converts a pest error on `source[offset..]` into a diagnostic with absolute spans.
/// `end` is where the statement ends: an error there means the statement stopped short.
pub(crate) fn syntax_error(err: &pest::error::Error<Rule>, source: &str, offset: usize, end: usize) -> Diagnostic {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    } + offset;
    let mut expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => expected_words(positives),
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    // pest's positives only name rules; the punctuation it tried at the furthest point (`=` after an
    // option name, `,` between fields) is in its parse attempts. Prefer those when they got further.
    let (tokens, furthest) = match err.parse_attempts() {
        Some(attempts) => (punctuation(&attempts.expected_tokens()), attempts.max_position + offset),
        None => (Vec::new(), pos),
    };
    let mut pos = pos;
    if furthest > pos && !tokens.is_empty() {
        let rest = &source[furthest.min(source.len())..];
        pos = furthest + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
        expected = tokens.iter().map(|t| format!("`{t}`")).collect();
    } else if furthest == pos && expected.is_empty() {
        expected = tokens.iter().map(|t| format!("`{t}`")).collect();
    }
    let statement_end = offset + super::scan::code_len(&source[offset..end]);
    let pos = floor_char_boundary(source, pos.min(statement_end));
    let found = if pos >= statement_end { String::new() } else { found_at(source, pos) };
    if found == "=" && tokens.iter().any(|t| t == "==") {
        expected = vec!["`==`".to_string()];
    }
    if found == ";" || found == "#" {
        expected.clear();
    }
    let span = Span::new(pos, (pos + found.len()).max(pos));
    let expected_text = join_or(&expected);
    let (message, label) = if expected_text.is_empty() {
        (format!("unexpected {}", describe_found(&found)), "not expected here".to_string())
    } else {
        (
            format!("expected {expected_text}, found {}", describe_found(&found)),
            format!("expected {expected_text} here"),
        )
    };
    Diagnostic::error(codes::E0101, message).at(span, label).help(help_for(&found, &expected, &tokens))
}

/// The punctuation among pest's expected tokens (not white space, comments, letters or ranges).
fn punctuation<T: std::fmt::Display>(tokens: &[T]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens.iter().map(ToString::to_string) {
        let range = token.chars().count() == 4 && token.get(1..3) == Some("..");
        let skip = range
            || token == "//"
            || token == "/*"
            || token.chars().all(|c| c.is_whitespace() || c.is_alphanumeric() || c == '_' || c == '\u{feff}');
        if !skip && !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

fn found_at(source: &str, pos: usize) -> String {
    let rest = &source[pos..];
    let Some(first) = rest.chars().next() else {
        return String::new();
    };
    if first.is_alphanumeric() || first == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    } else {
        for op in ["->", "=>", "==", "!=", "<=", ">=", "=~", "!~", ":=", "+=", "::"] {
            if rest.starts_with(op) {
                return op.to_string();
            }
        }
        first.to_string()
    }
}

fn describe_found(found: &str) -> String {
    match found {
        "" => "the end of the statement".to_string(),
        "\n" => "a line break".to_string(),
        other => format!("`{other}`"),
    }
}

fn expected_words(rules: &[Rule]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for rule in rules {
        let word = match rule {
            Rule::ident | Rule::node_ref | Rule::type_name => "a name",
            Rule::field_name => "a field name",
            Rule::string => "a string",
            Rule::value => "a value",
            Rule::expr | Rule::not_expr | Rule::unary | Rule::literal | Rule::path | Rule::call => "an expression",
            Rule::type_expr => "a type",
            Rule::options => "`{`",
            Rule::arrow | Rule::edge_stage | Rule::dead_letter => "`->`",
            Rule::pipe_stage => "`|`",
            Rule::where_t | Rule::select_t | Rule::set_t | Rule::drop_t | Rule::parse_t => {
                "a transform (where, select, set, drop, parse)"
            }
            Rule::kw_type
            | Rule::kw_topic
            | Rule::role
            | Rule::kw_source
            | Rule::kw_channel
            | Rule::kw_sink
            | Rule::type_decl
            | Rule::topic_decl
            | Rule::node_decl
            | Rule::flow_stmt => "a declaration or pipeline",
            Rule::kw_as => "`as`",
            Rule::kw_else | Rule::route_else => "`else`",
            Rule::cmp_op => "a comparison",
            Rule::add_op | Rule::mul_op => "an operator",
            Rule::op_and | Rule::op_or => "`and`/`or`",
            Rule::option => "an option `name = value`",
            Rule::test_entry | Rule::test_dir | Rule::kw_input | Rule::kw_expect => {
                "`input NAME = [events]` or `expect NAME = [events]`"
            }
            Rule::field_decl => "a field `name: type`",
            Rule::select_item | Rule::assignment => "`field = expression`",
            Rule::route_arm => "a route arm `condition => target`",
            Rule::fanout => "`[`",
            Rule::group_target => "`group \"NAME\"`",
            Rule::EOI => "the end of the statement",
            Rule::int | Rule::float | Rule::quantity => "a number",
            Rule::boolean => "true or false",
            _ => continue,
        };
        if !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    words
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn help_for(found: &str, expected: &[String], tokens: &[String]) -> String {
    match found {
        ":" if expected.iter().any(|w| w.contains('=') && !w.contains(':')) => {
            "options are written `name = value`, not `name: value`".to_string()
        }
        "=>" => "edges are written `->`; `=>` only appears inside `route { condition => target }`".to_string(),
        "=" if expected.iter().any(|w| w == "a comparison") || tokens.iter().any(|t| t == "==") => {
            "compare with `==`; `=` only assigns".to_string()
        }
        ";" => "statements end at the line break; remove the `;`".to_string(),
        "“" | "”" | "‘" | "’" | "„" => {
            "this is a typographic quote (pasted from a document or web page); write a straight `\"`".to_string()
        }
        "→" | "⇒" => "write the arrow as `->`".to_string(),
        "#" => "comments start with `//` (`#` starts a comment in Flume's properties files, not here)".to_string(),
        word if word.starts_with(|c: char| c.is_alphabetic() || c == '_') && expected.iter().any(|w| w == "`,`") => {
            "separate the items of a block or list with `,`".to_string()
        }
        "" => "the statement stops before it is complete: close every `{`, `[` and `(` it opens".to_string(),
        _ => "see `flowc explain E0101` and docs/language.md for the syntax".to_string(),
    }
}
