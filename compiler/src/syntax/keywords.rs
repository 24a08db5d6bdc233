//! The reserved words of the language, as `grammar/flow.pest`'s `keyword` rule has them (a test
//! holds the two together); the scanner, the formatter, the editor features and the importer read
//! this list.

/// The words that begin a declaration.
pub const DECLARATION_KEYWORDS: &[&str] = &["type", "topic", "source", "channel", "sink"];

/// The words that begin a test file's statements (`tests "pipeline.flow"`, `test "name" { … }`).
/// They are not reserved: only a string after them makes them keywords.
pub const TEST_KEYWORDS: &[&str] = &["test", "tests"];

/// What each word of a test block does, for an editor's hover.
pub fn test_word_doc(word: &str) -> Option<&'static str> {
    Some(match word {
        "tests" => "`tests \"pipeline.flow\"`: this file holds only tests of that pipeline file (relative to this one).",
        "test" => "`test \"name\" { input … expect … }`: a unit test, run in memory by `flowc test`; `flowc run` ignores it.",
        "input" => "`input NODE = [events]`: the events NODE emits in this test (lines as strings, records as `{ field = value }`).",
        "expect" => "`expect NODE = [events]`: the events that reach NODE, in order; fields an event leaves out are not compared.",
        _ => return None,
    })
}

/// Every reserved word: no name may be one.
pub const KEYWORDS: &[&str] = &[
    "type", "topic", "source", "channel", "sink", "group", "where", "select", "set", "drop", "parse", "as", "else",
    "route", "and", "or", "not", "in", "true", "false", "null",
];

/// Whether `word` is reserved.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parser::{FlowParser, Rule};
    use pest::Parser;
    use std::collections::BTreeSet;

    /// The words of the grammar's `keyword` rule, read from its text: `"t" ~ ("ype" | "opic")` is
    /// `type` and `topic`.
    fn grammar_keywords() -> BTreeSet<String> {
        let grammar = include_str!("../../../grammar/flow.pest");
        let rule = grammar.split("keyword    = @{").nth(1).and_then(|r| r.split("~ !ident_char").next()).unwrap();
        let mut words = BTreeSet::new();
        for line in rule.lines() {
            let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            if let Some((first, rest)) = quoted.split_first() {
                if rest.is_empty() {
                    words.insert(first.to_string());
                }
                for tail in rest {
                    words.insert(format!("{first}{tail}"));
                }
            }
        }
        words
    }

    #[test]
    fn the_list_is_the_grammars() {
        let listed: BTreeSet<String> = KEYWORDS.iter().map(|w| w.to_string()).collect();
        assert_eq!(listed, grammar_keywords());
        for word in KEYWORDS {
            let parsed = FlowParser::parse(Rule::keyword, word).unwrap_or_else(|e| panic!("`{word}`: {e}"));
            assert_eq!(parsed.as_str(), *word);
        }
        assert!(FlowParser::parse(Rule::keyword, "types").is_err());
        for word in DECLARATION_KEYWORDS {
            assert!(is_keyword(word));
        }
    }
}
