//! Every ```flow block of the Kafka and run docs is a file `flowc check` accepts (exit 0; warnings
//! allowed): what a user copies from the docs runs through the checker as written.

use std::path::Path;
use std::process::Command;

fn flow_blocks(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```flow") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_kafka_docs_flow_blocks_check() {
    let blocks = flow_blocks("docs/kafka.md");
    assert!(blocks.len() >= 3, "docs/kafka.md has its examples");
    let scratch = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let file = scratch.path().join(format!("block{i}.flow"));
        std::fs::write(&file, block).unwrap();
        let out =
            Command::new(env!("CARGO_BIN_EXE_flowc")).arg("check").arg(&file).env("NO_COLOR", "1").output().unwrap();
        assert!(
            out.status.success(),
            "docs/kafka.md block {i} does not check:\n{block}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
