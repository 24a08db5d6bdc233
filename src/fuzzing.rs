//! The importer's fuzz entry point (`fuzz/fuzz_targets/import.rs`), shared with the corpus replay
//! test: any properties text is translated or refused, and what is written parses as a `.flow` file.

use flowc_compiler::FileId;

/// Translates every agent `text` defines (or refuses it with a message); a translation has no syntax
/// error (values are quoted and escaped, names are identifiers).
pub fn import(text: &str) {
    let agents = crate::import::agents(text);
    let choices: Vec<Option<&str>> =
        if agents.is_empty() { vec![None] } else { agents.iter().take(4).map(|a| Some(a.as_str())).collect() };
    for agent in choices {
        let Ok((flow, _notes)) = crate::import::translate(text, agent) else { continue };
        let (_, diagnostics) = flowc_compiler::check(FileId(0), &flow, flowc_stdlib::registry());
        if let Some(d) = diagnostics.iter().find(|d| d.code.starts_with("E01")) {
            panic!("the translation does not parse ({}: {}):\n{flow}", d.code, d.message);
        }
    }
}
