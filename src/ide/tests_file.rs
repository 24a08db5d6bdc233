//! A tests-only file (`tests "pipeline.flow"` at the top) in the editor: checked against the
//! pipeline file it names, which is read from disk here (the compiler reads nothing itself).

use super::Document;
use flowc_compiler::ast::Item;
use flowc_compiler::FileId;
use std::path::{Path, PathBuf};

/// The document for `text`, the file at `path`: a tests-only file is checked against the pipeline
/// it names, whose text `open` gives when an editor holds it, else the file on disk; when neither
/// can be read, its tests' node names are not reported as unknown.
pub fn document_at(text: String, path: Option<&Path>, open: impl Fn(&Path) -> Option<String>) -> Document {
    let mut doc = Document::new(text);
    let Some(named) = named_pipeline(&doc, path) else { return doc };
    let pipeline = open(&named).or_else(|| std::fs::read(&named).ok().and_then(|b| String::from_utf8(b).ok()));
    match pipeline {
        Some(pipeline) => {
            let tests = flowc_compiler::analyze_tests((FileId(1), &pipeline), (FileId(0), &doc.text), doc.registry);
            doc.analysis.diagnostics = tests.diagnostics;
        }
        None => doc.analysis.diagnostics.retain(|d| d.code != flowc_compiler::codes::E0801.as_str()),
    }
    doc
}

/// The pipeline file a tests-only document at `path` names, beside it.
pub fn named_pipeline(doc: &Document, path: Option<&Path>) -> Option<PathBuf> {
    let named = doc.analysis.ast.items.iter().find_map(|i| match i {
        Item::Tests(decl) => Some(decl.path.clone()),
        _ => None,
    })?;
    Some(path?.parent()?.join(named))
}

/// The local path of a `file://` URI (percent escapes decoded), if it is one.
pub fn file_path(uri: &str) -> Option<std::path::PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(std::path::PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tests_file_is_checked_against_the_pipeline_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.flow"),
            "source web = tail { path = \"x.log\" }\nsink out = logger {}\nweb -> out\n",
        )
        .unwrap();
        let tests = "tests \"p.flow\"\ntest \"t\" {\n  input web = [\"a\"]\n  expect uot = [\"a\"]\n}\n";
        let path = dir.path().join("p.test.flow");
        let doc = document_at(tests.to_string(), Some(&path), |_| None);
        let codes: Vec<&str> = doc.diagnostics().iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["E0801"]);
        assert_eq!(doc.diagnostics()[0].help.as_deref(), Some("did you mean `out`?"));
        // Without the pipeline, nothing is known of its nodes.
        let doc = document_at(tests.to_string(), Some(&dir.path().join("elsewhere/p.test.flow")), |_| None);
        assert!(doc.diagnostics().is_empty(), "{:?}", doc.diagnostics());
        // An editor's unsaved text of the pipeline wins over the file.
        let open = |p: &Path| {
            (p == dir.path().join("p.flow"))
                .then(|| "source web = stdin {}\nsink uot = logger {}\nweb -> uot\n".to_string())
        };
        let doc = document_at(tests.to_string(), Some(&path), open);
        assert!(doc.diagnostics().is_empty(), "{:?}", doc.diagnostics());
    }

    #[test]
    fn file_uris_become_paths() {
        assert_eq!(file_path("file:///tmp/a%20b.flow"), Some(std::path::PathBuf::from("/tmp/a b.flow")));
        assert_eq!(file_path("untitled:1"), None);
    }
}
