//! Kafka RecordBatch v2 (magic 2): encoding, header parsing, CRC32C validation and record decoding.
//!
//! Layout (big-endian, 61-byte header): baseOffset i64, batchLength i32, partitionLeaderEpoch i32,
//! magic i8 = 2, crc u32 (CRC-32C over attributes..end), attributes i16, lastOffsetDelta i32,
//! baseTimestamp i64, maxTimestamp i64, producerId i64, producerEpoch i16, baseSequence i32,
//! recordCount i32, then the records (zig-zag varint framed).

use std::sync::OnceLock;

use super::record::{AsRecord, RecordRef, RecordView};
use super::varint::{get_varint, get_varlong, put_varint, put_varlong, varint_len, varlong_len};

/// Size of the fixed RecordBatch v2 header.
pub(super) const HEADER_LEN: usize = 61;
/// Largest batch any reader accepts (a sanity bound that catches corrupt length fields).
pub(super) const MAX_BATCH_LEN: usize = 64 << 20;

const LENGTH_OFFSET: usize = 8;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
/// Bytes before and including `batchLength`; `batchLength` counts the rest.
const LOG_OVERHEAD: usize = 12;

/// A batch owned as bytes, exactly as it lies in a segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    bytes: Vec<u8>,
    header: BatchHeader,
    /// The records section of a compressed batch, decompressed the first time it is read.
    plain: OnceLock<Result<Vec<u8>, String>>,
}

/// The fields of a batch header that the log uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: u64,
    /// Total bytes of the batch, header included.
    pub len: usize,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: u32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Number of records.
    pub count: u32,
    /// The batch's attributes: bits 0-2 the compression codec (0 none, 1 gzip, 2 snappy, 3 lz4,
    /// 4 zstd), bit 4 transactional, bit 5 control.
    pub attributes: i16,
}

/// What is known about the bytes at one position of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// A whole batch that passed every check.
    Valid(BatchHeader),
    /// Fewer bytes than the batch needs: a tail being written, or torn by a crash.
    Incomplete,
    /// The bytes are not a valid batch; the reason says why.
    Invalid(String),
}

impl BatchHeader {
    /// The compression codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> u64 {
        self.base_offset + u64::from(self.last_offset_delta)
    }

    /// The offset after the last record.
    pub fn next_offset(&self) -> u64 {
        self.last_offset() + 1
    }
}

impl Batch {
    /// Wraps bytes holding exactly one batch, validating it (length, magic, CRC).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Batch, String> {
        match check(&bytes) {
            Check::Valid(header) if header.len == bytes.len() => Ok(Batch::from_checked(bytes, header)),
            Check::Valid(_) => Err("trailing bytes after the batch".into()),
            Check::Incomplete => Err("truncated batch".into()),
            Check::Invalid(reason) => Err(reason),
        }
    }

    pub(crate) fn from_checked(bytes: Vec<u8>, header: BatchHeader) -> Batch {
        Batch { bytes, header, plain: OnceLock::new() }
    }

    /// The parsed header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The raw RecordBatch v2 bytes (what a Kafka Fetch response carries).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Decodes the records (decompressing a compressed batch — a Kafka client's, stored as sent);
    /// an error means the (CRC-valid) batch is malformed.
    pub fn records(&self) -> RecordIter<'_> {
        let codec = self.header.compression();
        let (buf, pos, failed) = if codec == 0 {
            (&self.bytes[..], HEADER_LEN, None)
        } else {
            match self.plain.get_or_init(|| super::compression::decompress(codec, &self.bytes[HEADER_LEN..])) {
                Ok(plain) => (&plain[..], 0, None),
                Err(e) => (&self.bytes[..], HEADER_LEN, Some(e.clone())),
            }
        };
        RecordIter {
            buf,
            pos,
            left: self.header.count,
            base_offset: self.header.base_offset,
            base_timestamp: self.header.base_timestamp,
            failed,
        }
    }
}

/// Iterates a batch's records; yields `Err` (then stops) if a record is malformed.
#[derive(Debug)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u32,
    base_offset: u64,
    base_timestamp: i64,
    failed: Option<String>,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if let Some(e) = self.failed.take() {
            self.left = 0;
            return Some(Err(e));
        }
        let r = decode_record(self.buf, &mut self.pos, self.base_offset, self.base_timestamp);
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

/// The name of a RecordBatch compression codec.
pub fn codec_name(codec: u8) -> &'static str {
    match codec {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    }
}

/// Writes `base_offset` into the batch at the start of `buf` (outside the CRC, so it stays valid).
pub fn set_base_offset(buf: &mut [u8], base_offset: u64) {
    buf[..8].copy_from_slice(&(base_offset as i64).to_be_bytes());
}

/// Parses the fixed header without checking the CRC (used to skip through segments).
pub(super) fn parse_header(buf: &[u8]) -> Result<BatchHeader, String> {
    if buf.len() < HEADER_LEN {
        return Err("truncated batch header".into());
    }
    let batch_length = be_i32(buf, LENGTH_OFFSET);
    if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(format!("batch length {batch_length} is below the 49-byte minimum"));
    }
    let len = batch_length as usize + LOG_OVERHEAD;
    if len > MAX_BATCH_LEN {
        return Err(format!("batch length {len} exceeds the {MAX_BATCH_LEN}-byte limit"));
    }
    if buf[MAGIC_OFFSET] != 2 {
        return Err(format!("magic byte is {} (expected 2)", buf[MAGIC_OFFSET]));
    }
    let attributes = be_i16(buf, ATTRIBUTES_OFFSET);
    if attributes & 0x07 > 4 {
        return Err(format!("unknown compression codec {}", attributes & 0x07));
    }
    let base_offset = be_i64(buf, 0);
    let last_offset_delta = be_i32(buf, 23);
    let count = be_i32(buf, 57);
    if base_offset < 0 || last_offset_delta < 0 || count < 1 || count - 1 > last_offset_delta {
        return Err(format!(
            "inconsistent header (base offset {base_offset}, last offset delta \
             {last_offset_delta}, {count} records)"
        ));
    }
    Ok(BatchHeader {
        base_offset: base_offset as u64,
        len,
        last_offset_delta: last_offset_delta as u32,
        base_timestamp: be_i64(buf, 27),
        max_timestamp: be_i64(buf, 35),
        count: count as u32,
        attributes,
    })
}

/// Checks the batch at the start of `buf`: header sanity, completeness and CRC32C.
pub fn check(buf: &[u8]) -> Check {
    if buf.len() < HEADER_LEN {
        return Check::Incomplete;
    }
    let header = match parse_header(buf) {
        Ok(h) => h,
        Err(reason) => return Check::Invalid(reason),
    };
    if buf.len() < header.len {
        return Check::Incomplete;
    }
    let stored = be_u32(buf, CRC_OFFSET);
    let actual = crc32c::crc32c(&buf[ATTRIBUTES_OFFSET..header.len]);
    if stored != actual {
        return Check::Invalid(format!("CRC32C mismatch (stored {stored:#010x}, computed {actual:#010x})"));
    }
    Check::Valid(header)
}

/// The encoded size of one record, length prefix included.
pub(super) fn record_encoded_len(record: &RecordRef<'_>, timestamp_delta: i64, offset_delta: i32) -> usize {
    let body = record_body_len(record, timestamp_delta, offset_delta);
    varint_len(body as i32) + body
}

/// Appends one batch holding `records` (offsets `base_offset..`) to `buf`, returning its header.
///
/// Records without a timestamp get `now_ms`. `buf` is not cleared, so several batches can share it.
pub fn encode_batch<R: AsRecord>(buf: &mut Vec<u8>, base_offset: u64, records: &[R], now_ms: i64) -> BatchHeader {
    assert!(!records.is_empty(), "a batch holds at least one record");
    let start = buf.len();
    let base_timestamp = records[0].as_record().timestamp.unwrap_or(now_ms);
    let mut max_timestamp = base_timestamp;
    buf.extend_from_slice(&(base_offset as i64).to_be_bytes());
    buf.extend_from_slice(&[0; 4]); // batchLength, patched below
    buf.extend_from_slice(&0i32.to_be_bytes()); // partitionLeaderEpoch
    buf.push(2); // magic
    buf.extend_from_slice(&[0; 4]); // crc, patched below
    buf.extend_from_slice(&0i16.to_be_bytes()); // attributes: no compression, CreateTime
    buf.extend_from_slice(&((records.len() - 1) as i32).to_be_bytes());
    buf.extend_from_slice(&base_timestamp.to_be_bytes());
    buf.extend_from_slice(&[0; 8]); // maxTimestamp, patched below
    buf.extend_from_slice(&(-1i64).to_be_bytes()); // producerId
    buf.extend_from_slice(&(-1i16).to_be_bytes()); // producerEpoch
    buf.extend_from_slice(&(-1i32).to_be_bytes()); // baseSequence
    buf.extend_from_slice(&(records.len() as i32).to_be_bytes());
    for (i, record) in records.iter().enumerate() {
        let record = record.as_record();
        let ts = record.timestamp.unwrap_or(now_ms);
        max_timestamp = max_timestamp.max(ts);
        encode_record(buf, &record, ts - base_timestamp, i as i32);
    }
    let len = buf.len() - start;
    buf[start + LENGTH_OFFSET..start + LENGTH_OFFSET + 4].copy_from_slice(&((len - LOG_OVERHEAD) as i32).to_be_bytes());
    buf[start + 35..start + 43].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&buf[start + ATTRIBUTES_OFFSET..]);
    buf[start + CRC_OFFSET..start + CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    BatchHeader {
        base_offset,
        len,
        last_offset_delta: (records.len() - 1) as u32,
        base_timestamp,
        max_timestamp,
        count: records.len() as u32,
        attributes: 0,
    }
}

fn record_body_len(record: &RecordRef<'_>, timestamp_delta: i64, offset_delta: i32) -> usize {
    let mut n = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    n += bytes_len(record.key);
    n += bytes_len(record.value);
    n += varint_len(record.headers.len() as i32);
    for h in record.headers {
        n += bytes_len(Some(h.key.as_bytes())) + bytes_len(h.value.as_deref());
    }
    n
}

fn bytes_len(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varint_len(b.len() as i32) + b.len(),
    }
}

fn encode_record(buf: &mut Vec<u8>, record: &RecordRef<'_>, timestamp_delta: i64, offset_delta: i32) {
    let body = record_body_len(record, timestamp_delta, offset_delta);
    buf.reserve(body + 5);
    put_varint(buf, body as i32);
    buf.push(0); // attributes
    put_varlong(buf, timestamp_delta);
    put_varint(buf, offset_delta);
    put_bytes(buf, record.key);
    put_bytes(buf, record.value);
    put_varint(buf, record.headers.len() as i32);
    for h in record.headers {
        put_bytes(buf, Some(h.key.as_bytes()));
        put_bytes(buf, h.value.as_deref());
    }
}

fn put_bytes(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.extend_from_slice(b);
        }
    }
}

fn decode_record<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    base_offset: u64,
    base_timestamp: i64,
) -> Result<RecordView<'a>, String> {
    let bad = |what: &str| format!("malformed record: bad {what}");
    let len = get_varint(buf, pos).ok_or_else(|| bad("length"))?;
    if len < 0 || *pos + len as usize > buf.len() {
        return Err(bad("length"));
    }
    let end = *pos + len as usize;
    let rec = &buf[..end];
    *pos += 1; // attributes
    let ts_delta = get_varlong(rec, pos).ok_or_else(|| bad("timestamp delta"))?;
    let offset_delta = get_varint(rec, pos).ok_or_else(|| bad("offset delta"))?;
    if offset_delta < 0 {
        return Err(bad("offset delta"));
    }
    let key = get_bytes(rec, pos).ok_or_else(|| bad("key"))?;
    let value = get_bytes(rec, pos).ok_or_else(|| bad("value"))?;
    let n_headers = get_varint(rec, pos).ok_or_else(|| bad("header count"))?;
    if n_headers < 0 || n_headers as usize > len as usize {
        return Err(bad("header count"));
    }
    let mut headers = Vec::with_capacity(n_headers as usize);
    for _ in 0..n_headers {
        let k = get_bytes(rec, pos).flatten().ok_or_else(|| bad("header key"))?;
        let v = get_bytes(rec, pos).ok_or_else(|| bad("header value"))?;
        headers.push((k, v));
    }
    if *pos != end {
        return Err(bad("record length"));
    }
    Ok(RecordView {
        offset: base_offset + offset_delta as u64,
        timestamp: base_timestamp.wrapping_add(ts_delta),
        key,
        value,
        headers,
    })
}

/// `Some(None)` for a null (-1) field, `Some(Some(bytes))` for data, `None` if malformed.
fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
    let n = get_varint(buf, pos)?;
    if n == -1 {
        return Some(None);
    }
    if n < 0 || *pos + n as usize > buf.len() {
        return None;
    }
    let b = &buf[*pos..*pos + n as usize];
    *pos += n as usize;
    Some(Some(b))
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_u32(b: &[u8], at: usize) -> u32 {
    be_i32(b, at) as u32
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::{Header, Record};

    fn sample() -> Vec<Record> {
        vec![
            Record { key: Some(b"k1".to_vec()), value: Some(b"v1".to_vec()), headers: vec![], timestamp: Some(1000) },
            Record {
                key: None,
                value: Some(vec![7; 300]),
                headers: vec![
                    Header { key: "h".into(), value: Some(b"x".to_vec()) },
                    Header { key: "n".into(), value: None },
                ],
                timestamp: Some(900),
            },
            Record { key: Some(vec![]), value: None, headers: vec![], timestamp: None },
        ]
    }

    #[test]
    fn round_trips_records() {
        let mut buf = Vec::new();
        let h = encode_batch(&mut buf, 42, &sample(), 5000);
        assert_eq!(h.len, buf.len());
        assert_eq!((h.base_offset, h.count, h.last_offset(), h.max_timestamp), (42, 3, 44, 5000));
        let batch = Batch::from_bytes(buf).unwrap();
        let recs: Vec<_> = batch.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].offset, 42);
        assert_eq!(recs[0].key, Some(&b"k1"[..]));
        assert_eq!(recs[1].timestamp, 900);
        assert_eq!(recs[1].value.unwrap().len(), 300);
        assert_eq!(recs[1].headers, vec![(&b"h"[..], Some(&b"x"[..])), (&b"n"[..], None)]);
        assert_eq!((recs[2].key, recs[2].value, recs[2].timestamp), (Some(&b""[..]), None, 5000));
    }

    /// The layout Kafka expects: a 61-byte header, magic 2 at byte 16, CRC32C over attributes..end.
    #[test]
    fn header_layout_is_kafka_v2() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, 7, &[Record::from_value("hello")], 1);
        assert_eq!(&buf[0..8], &7i64.to_be_bytes());
        assert_eq!(be_i32(&buf, 8) as usize, buf.len() - 12);
        assert_eq!(buf[16], 2);
        assert_eq!(be_u32(&buf, 17), crc32c::crc32c(&buf[21..]));
        assert_eq!(be_i64(&buf, 43), -1); // producerId
        assert_eq!(be_i32(&buf, 57), 1); // record count
                                         // record: length 11, attrs 0, ts delta 0, offset delta 0, key null (-1 = 0x01), value len 5
        assert_eq!(&buf[61..67], &[22, 0, 0, 0, 1, 10]);
        assert_eq!(&buf[67..72], b"hello");
        assert_eq!(buf[72], 0); // no headers
        assert_eq!(buf.len(), 73);
    }

    #[test]
    fn base_offset_is_outside_the_crc() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, 0, &sample(), 1);
        buf[0..8].copy_from_slice(&99i64.to_be_bytes());
        assert!(matches!(check(&buf), Check::Valid(h) if h.base_offset == 99));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, 0, &sample(), 1);
        for i in 8..buf.len() {
            if (12..16).contains(&i) {
                continue; // partitionLeaderEpoch is not covered by the CRC, by design
            }
            let mut b = buf.clone();
            b[i] ^= 0x20;
            assert!(!matches!(check(&b), Check::Valid(_)), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn truncation_is_incomplete_not_valid() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, 0, &sample(), 1);
        for cut in 0..buf.len() {
            assert_eq!(check(&buf[..cut]), Check::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn encoded_len_matches_encoding() {
        for r in sample() {
            let mut buf = Vec::new();
            encode_record(&mut buf, &r.as_record(), 3, 2);
            assert_eq!(buf.len(), record_encoded_len(&r.as_record(), 3, 2));
        }
    }

    #[test]
    fn malformed_records_in_a_crc_valid_batch_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, 0, &sample(), 1);
        for i in HEADER_LEN..buf.len() {
            for v in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut b = buf.clone();
                b[i] = v;
                let crc = crc32c::crc32c(&b[21..]);
                b[17..21].copy_from_slice(&crc.to_be_bytes());
                if let Ok(batch) = Batch::from_bytes(b) {
                    for r in batch.records() {
                        let _ = r;
                    }
                }
            }
        }
    }
}
