//! `docs/connectors.md` is generated from the catalogue; this test keeps the committed file in step.

use std::path::PathBuf;

#[test]
fn connectors_md_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/connectors.md");
    let generated = flowc_stdlib::reference::reference_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/connectors.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| committed.lines().count().min(generated.lines().count()) + 1, |i| i + 1);
        panic!(
            "docs/connectors.md is out of date with the stdlib catalogue (first difference at line {first_difference}).\n\
             Regenerate it with: {}",
            flowc_stdlib::reference::REGENERATE
        );
    }
}
