//! The fuzz targets' corpora (`fuzz/corpus/<target>/`, grown by `fuzz/run.sh`) replayed on stable
//! Rust through the same entry points, plus property tests over them: no input panics. Crashes the
//! fuzzer found stay in the corpus as regression tests.
//!
//! `FLOWC_WRITE_CORPUS=1 cargo test --test fuzz_corpus` (re)writes the generated seeds of the
//! `record_batch` and `segment` corpora.

use flowc_compiler::FileId;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Replays every file of `target`'s corpus through `run`; returns how many there were.
fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let files = corpus(target);
    for (path, bytes) in &files {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(bytes)));
        assert!(result.is_ok(), "{} panics (replay: cargo fuzz run {target} {})", path.display(), path.display());
    }
    files.len()
}

fn check(data: &[u8]) {
    if let Ok(text) = flowc_compiler::syntax::decode(FileId(0), data) {
        let _ = flowc_compiler::check(FileId(0), text, flowc_stdlib::registry());
    }
}

fn import(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        flowc::fuzzing::import(text);
    }
}

fn segment(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    flowc_runtime::fuzzing::segment(data, &dir.path().join("p")).unwrap();
}

#[test]
fn the_check_corpus_replays() {
    assert!(replay("check", check) >= 5);
}

#[test]
fn the_import_corpus_replays() {
    assert!(replay("import", import) >= 5);
}

#[test]
fn the_parse_corpus_replays() {
    assert!(replay("parse", flowc_runtime::fuzzing::parse_lines) >= 5);
}

#[test]
fn the_record_batch_corpus_replays() {
    write_generated_seeds();
    assert!(replay("record_batch", flowc_runtime::fuzzing::record_batch) >= 6);
}

#[test]
fn the_segment_corpus_replays() {
    write_generated_seeds();
    assert!(replay("segment", segment) >= 3);
}

/// With `FLOWC_WRITE_CORPUS=1`: the seeds made from encoded batches, one batch per `record_batch`
/// file; a whole segment of them, one torn at its end, and one with a flipped byte for `segment`.
fn write_generated_seeds() {
    if std::env::var_os("FLOWC_WRITE_CORPUS").is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let batches = flowc_runtime::fuzzing::seed_batches();
    let mut whole = Vec::new();
    let mut offset = 0u64;
    for (name, batch) in &batches {
        std::fs::write(root.join("record_batch").join(format!("seed-{name}")), batch).unwrap();
        let mut b = batch.clone();
        flowc_runtime::log::set_base_offset(&mut b, offset);
        offset += flowc_runtime::log::Batch::from_bytes(b.clone()).unwrap().header().count as u64;
        whole.extend_from_slice(&b);
    }
    let dir = root.join("segment");
    std::fs::write(dir.join("seed-whole"), &whole).unwrap();
    std::fs::write(dir.join("seed-torn"), &whole[..whole.len() - 7]).unwrap();
    let mut flipped = whole.clone();
    flipped[whole.len() / 2] ^= 0x40;
    std::fs::write(dir.join("seed-flipped"), &flipped).unwrap();
}

/// A valid batch with some bytes replaced.
fn mutated_batch() -> impl Strategy<Value = Vec<u8>> {
    let seeds = flowc_runtime::fuzzing::seed_batches();
    (
        0..seeds.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(which, edits, cut)| {
            let mut b = seeds[which].1.clone();
            for (at, byte) in edits {
                let i = at.index(b.len());
                b[i] = byte;
            }
            let keep = b.len() - cut.index(b.len() / 4 + 1);
            b.truncate(keep);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mutated_batches_are_refused_or_decoded(batch in mutated_batch()) {
        flowc_runtime::fuzzing::record_batch(&batch);
    }

    #[test]
    fn mutated_segments_are_served_only_where_valid(parts in prop::collection::vec(mutated_batch(), 1..5)) {
        segment(&parts.concat());
    }

    #[test]
    fn random_lines_are_records_or_rejections(data in prop::collection::vec(any::<u8>(), 0..600)) {
        flowc_runtime::fuzzing::parse_lines(&data);
    }

    #[test]
    fn properties_like_text_is_translated_or_refused(
        lines in prop::collection::vec(
            ("a1\\.(sources|channels|sinks|sinkgroups)(\\.[a-z0-9]{1,3}){0,3}", "[ -~]{0,12}"),
            0..12,
        )
    ) {
        let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        flowc::fuzzing::import(&text);
    }
}
