//! Every diagnostic code has an explain page whose wrong example emits that code and whose fix is clean.

use flowc_compiler::codes::CODES;
use flowc_compiler::FileId;

/// The first ```flow block after `heading`, if any.
fn block_after<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let section = &page[page.find(heading)? + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let start = section.find("```flow\n")? + "```flow\n".len();
    let end = section[start..].find("```")? + start;
    Some(&section[start..end])
}

#[test]
fn every_page_explains_and_shows_wrong_and_right() {
    let registry = flowc_stdlib::registry();
    let mut problems = Vec::new();
    for info in CODES {
        let page = info.page;
        if !page.starts_with(&format!("# {}: ", info.code)) {
            problems.push(format!("{}: page must start with `# {}: title`", info.code, info.code));
            continue;
        }
        if !page.contains("## Wrong") || !page.contains("## Right") {
            problems.push(format!("{}: page needs `## Wrong` and `## Right` sections", info.code));
            continue;
        }
        match block_after(page, "## Wrong") {
            Some(wrong) => {
                let (_, diags) = flowc_compiler::check(FileId(0), wrong, registry);
                if !diags.iter().any(|d| d.code == info.code) {
                    let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
                    problems.push(format!("{}: the wrong example does not emit it (got {got:?})", info.code));
                }
            }
            // Invalid UTF-8 cannot be written in a Markdown page.
            None if info.code == "E0109" => {}
            None => problems.push(format!("{}: no ```flow block under `## Wrong`", info.code)),
        }
        match block_after(page, "## Right") {
            Some(right) => {
                let (_, diags) = flowc_compiler::check(FileId(0), right, registry);
                let bad: Vec<String> = diags
                    .iter()
                    .filter(|d| d.is_error() || d.code == info.code)
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect();
                if !bad.is_empty() {
                    problems.push(format!("{}: the right example still reports {bad:?}", info.code));
                }
            }
            None => problems.push(format!("{}: no ```flow block under `## Right`", info.code)),
        }
    }
    assert!(problems.is_empty(), "{} explain page problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn explain_prints_the_page_and_rejects_unknown_codes() {
    let bin = env!("CARGO_BIN_EXE_flowc");
    let out = std::process::Command::new(bin).args(["explain", "e0301"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# E0301: "), "{text}");
    let out = std::process::Command::new(bin).args(["explain", "E0999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no diagnostic code `E0999`"));
}
