//! The entry points the fuzz targets (`fuzz/fuzz_targets/`) and the corpus replay test share: each
//! takes any bytes, must return without a panic, and checks what a user relies on along the way.

use crate::exec::batch::lines_batch;
use crate::exec::transform::parse::{parse, samples};
use crate::log::{check_batch, Batch, Check, PartitionReader, PartitionWriter, Record, TopicConfig};
use std::path::Path;

/// Every `parse` format over the lines of `data` (split at `\n`, invalid UTF-8 replaced, as the
/// sources hand lines on): each line is a record or a counted rejection.
pub fn parse_lines(data: &[u8]) {
    let texts: Vec<String> = data.split(|&b| b == b'\n').map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    let input = lines_batch(&texts);
    for (format, schema) in samples::formats() {
        let (out, rejected) = parse(&input, "line", &schema, &format, true).expect("a lines batch has its field");
        assert_eq!(out.num_rows() as u64 + rejected.count, texts.len() as u64, "{format:?}: a line went missing");
        assert_eq!(rejected.lines.len() as u64, rejected.count, "{format:?}: a rejection without its text");
    }
}

/// `data` as one RecordBatch v2 (what a segment or a Kafka Produce holds): refused, or decoded into
/// records (decompressed where compressed) that end or fail, never a panic.
pub fn record_batch(data: &[u8]) {
    decode_batch(data.to_vec());
    // The same bytes with their CRC made to match (it covers everything from the attributes on), so
    // mutations reach the codecs and the records behind it instead of stopping at the checksum.
    if data.len() >= BATCH_HEADER {
        let mut fixed = data.to_vec();
        let crc = crc32c::crc32c(&fixed[CRC_END..]);
        fixed[CRC_END - 4..CRC_END].copy_from_slice(&crc.to_be_bytes());
        decode_batch(fixed);
    }
}

/// A RecordBatch v2 header: base offset, length, leader epoch, magic, CRC, then what the CRC covers.
const BATCH_HEADER: usize = 61;
const CRC_END: usize = 21;

fn decode_batch(data: Vec<u8>) {
    let _ = check_batch(&data);
    if let Ok(batch) = Batch::from_bytes(data) {
        assert!(matches!(check_batch(batch.as_bytes()), Check::Valid(_)), "a batch was accepted that fails its check");
        for record in batch.records() {
            if record.is_err() {
                break;
            }
        }
    }
}

/// `data` as the first segment of a partition in the empty directory `dir`: the reader serves only
/// batches that pass their CRC, recovery opens it without a panic, and an append after recovery is
/// read back at the end.
pub fn segment(data: &[u8], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("00000000000000000000.log"), data)?;
    let served = read_all(dir);
    let config = TopicConfig { retention_ms: None, ..TopicConfig::default() };
    let Ok(writer) = PartitionWriter::open(dir, "fuzz/0", &config, None) else { return Ok(()) };
    let record = Record { value: Some(b"after recovery".to_vec()), ..Record::default() };
    let appended = writer.append(&[record]);
    drop(writer);
    let after = read_all(dir);
    if let Ok(info) = appended {
        assert!(
            after.iter().any(|(offset, value)| *offset == info.base_offset && value == b"after recovery"),
            "the record appended after recovery is not read back"
        );
    }
    // Recovery keeps a prefix of what was served before it: nothing served changes its offset.
    for (before, now) in served.iter().zip(&after) {
        if before != now {
            assert!(served.len() > after.len() || before.0 == now.0, "recovery changed a served record");
            break;
        }
    }
    Ok(())
}

/// Every record a reader serves from offset 0, as (offset, value), until it stops or fails; each
/// batch passes its check.
fn read_all(dir: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(mut reader) = PartitionReader::open(dir, "fuzz/0", 0) else { return out };
    for _ in 0..10_000 {
        let batches = match reader.read(1 << 20) {
            Ok(b) if !b.is_empty() => b,
            _ => break,
        };
        for batch in batches {
            assert!(
                matches!(check_batch(batch.as_bytes()), Check::Valid(_)),
                "the reader served a batch that fails its check"
            );
            for record in batch.records() {
                match record {
                    Ok(r) => out.push((r.offset, r.value.unwrap_or_default().to_vec())),
                    Err(_) => break,
                }
            }
        }
    }
    out
}

/// Seeds for the `record_batch` and `segment` corpora (written by `FLOWC_WRITE_CORPUS=1 cargo test
/// --test fuzz_corpus`): batches as flowc writes them and as Kafka clients send them compressed.
pub fn seed_batches() -> Vec<(&'static str, Vec<u8>)> {
    let records: Vec<Record> = (0..5)
        .map(|i| Record {
            key: (i % 2 == 0).then(|| format!("key-{i}").into_bytes()),
            value: Some(
                format!("127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /{i} HTTP/1.0\" 200 {i}").into_bytes(),
            ),
            headers: vec![crate::log::Header { key: "line".into(), value: Some(b"1".to_vec()) }],
            timestamp: Some(1_700_000_000_000 + i),
        })
        .collect();
    let mut plain = Vec::new();
    crate::log::encode_batch(&mut plain, 0, &records, 0);
    let mut out = vec![("plain", plain.clone())];
    for (name, codec) in [("gzip", 1u8), ("snappy", 2), ("lz4", 3), ("zstd", 4)] {
        out.push((name, compressed(&plain, codec)));
    }
    let mut single = Vec::new();
    crate::log::encode_batch(&mut single, 0, &[Record::default()], 0);
    out.push(("empty-record", single));
    out
}

/// `plain` (one uncompressed batch) with its records section compressed by `codec`, its length,
/// attributes and CRC rewritten.
fn compressed(plain: &[u8], codec: u8) -> Vec<u8> {
    use std::io::Write;
    const HEADER: usize = 61;
    let records = &plain[HEADER..];
    let packed = match codec {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(records).expect("writing to memory");
            e.finish().expect("writing to memory")
        }
        2 => snap::raw::Encoder::new().compress_vec(records).expect("snappy of a small buffer"),
        3 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(records).expect("writing to memory");
            e.finish().expect("writing to memory")
        }
        _ => zstd::encode_all(records, 1).expect("zstd of a small buffer"),
    };
    let mut batch = plain[..HEADER].to_vec();
    batch.extend_from_slice(&packed);
    let len = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    batch[21..23].copy_from_slice(&i16::from(codec).to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}
