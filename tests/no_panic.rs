//! `check` never panics: random bytes, mutated and truncated examples, deep nesting all end in diagnostics.

use flowc_compiler::FileId;
use proptest::prelude::*;
use std::path::Path;

fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.sort();
    texts
}

/// Checks bytes the way `flowc check` does; returns whether any error was reported.
fn check_bytes(bytes: &[u8]) -> bool {
    match flowc_compiler::syntax::decode(FileId(0), bytes) {
        Err(diag) => diag.is_error(),
        Ok(text) => {
            let (program, diags) = flowc_compiler::check(FileId(0), text, flowc_stdlib::registry());
            assert_eq!(
                program.is_none(),
                diags.iter().any(|d| d.is_error()),
                "a program exists iff there are no errors"
            );
            for d in &diags {
                assert!(
                    d.primary.span.start <= d.primary.span.end && d.primary.span.end <= text.len(),
                    "span out of range: {d:?}"
                );
                assert!(text.is_char_boundary(d.primary.span.start), "span splits a character: {d:?}");
                assert!(flowc_compiler::codes::lookup(d.code).is_some(), "unregistered code {}", d.code);
            }
            diags.iter().any(|d| d.is_error())
        }
    }
}

const TOKENS: &[&str] = &[
    "source", "sink", "channel", "topic", "type", "group", "route", "where", "select", "set", "drop", "parse", "as",
    "else", "->", "|", "=>", "{", "}", "[", "]", "(", ")", "=", ",", ":", "?", "\"", "\"x\"", "${", "}", "%{", "1",
    "-5", "3s", "20B", "10mins", "1.5", "true", "null", "and", "or", "not", "==", ">=", "=~", "r1", "c1", "s1",
    "memory", "logger", "spooldir", "files", "json", "combined", "\n", " ", "//", "/*", "*/", "中文", "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_bytes(&bytes);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
        check_bytes(tokens.join(" ").as_bytes());
    }

    #[test]
    fn truncated_examples_never_panic(which in 0usize..16, cut in 0.0f64..1.0) {
        let texts = examples();
        let text = &texts[which % texts.len()];
        let mut at = (text.len() as f64 * cut) as usize;
        while !text.is_char_boundary(at) { at -= 1; }
        check_bytes(&text.as_bytes()[..at]);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..16, edits in proptest::collection::vec((0.0f64..1.0, proptest::sample::select(TOKENS), any::<bool>()), 1..6)) {
        let texts = examples();
        let mut text = texts[which % texts.len()].clone();
        for (pos, token, delete) in edits {
            let mut at = (text.len() as f64 * pos) as usize;
            while !text.is_char_boundary(at) { at -= 1; }
            if delete {
                let mut end = (at + token.len()).min(text.len());
                while !text.is_char_boundary(end) { end -= 1; }
                text.replace_range(at..end, "");
            } else {
                text.insert_str(at, token);
            }
        }
        check_bytes(text.as_bytes());
    }
}

#[test]
fn deep_nesting_is_bounded_before_the_parser_recurses() {
    for open in ["(", "[", "{", "not "] {
        let close = match open {
            "(" => ")",
            "[" => "]",
            "{" => "}",
            _ => "",
        };
        let text = format!(
            "source r = stdin {{}}\nsink s = logger {{}}\nr | where {}true{} -> s\n",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        let (_, diags) = flowc_compiler::check(FileId(0), &text, flowc_stdlib::registry());
        assert!(
            diags.iter().any(|d| d.code == "E0105"),
            "{open}: {:?}",
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_example_survives_every_single_truncation_point_of_its_first_lines() {
    for text in examples() {
        let limit = text.len().min(600);
        for at in (0..limit).filter(|i| text.is_char_boundary(*i)) {
            check_bytes(&text.as_bytes()[..at]);
        }
    }
}

#[test]
fn clean_examples_have_no_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut tests_files = 0;
    for text in examples() {
        // A tests-only file is checked against the pipeline it names, as `flowc check` does.
        let named = text.lines().find_map(|l| l.strip_prefix("tests \"")?.strip_suffix('"'));
        match named {
            Some(pipeline) => {
                let pipeline = std::fs::read_to_string(dir.join(pipeline)).unwrap();
                let registry = flowc_stdlib::registry();
                let analysis = flowc_compiler::analyze_tests((FileId(1), &pipeline), (FileId(0), &text), registry);
                assert!(!analysis.has_errors(), "{text}\n{:?}", analysis.diagnostics);
                assert!(!analysis.pipeline.program.tests.is_empty(), "{text}");
                tests_files += 1;
            }
            None => assert!(!check_bytes(text.as_bytes()), "{text}"),
        }
    }
    assert!(tests_files >= 4, "the examples' tests files are missing");
}
