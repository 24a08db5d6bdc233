//! Decompressing the records of a compressed batch (gzip, snappy, lz4, zstd) as Kafka producers
//! write them, so the console consumer and pipelines read what Kafka clients produced through
//! `flowc serve`. The log stores such batches as sent; only readers decompress.

use std::io::Read;

/// The records section of a batch compressed with `codec` (1 gzip, 2 snappy, 3 lz4, 4 zstd).
pub(crate) fn decompress(codec: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let r = match codec {
        1 => flate2::read::GzDecoder::new(data).read_to_end(&mut out).map(|_| ()),
        2 => return snappy(data),
        3 => lz4_flex::frame::FrameDecoder::new(data).read_to_end(&mut out).map(|_| ()),
        4 => zstd::stream::read::Decoder::new(data).and_then(|mut d| d.read_to_end(&mut out)).map(|_| ()),
        c => return Err(format!("unknown compression codec {c}")),
    };
    r.map_err(|e| format!("cannot decompress the batch: {e}"))?;
    Ok(out)
}

/// Snappy as Kafka clients send it: a raw block (librdkafka) or Java's xerial framing
/// (`\x82SNAPPY\0`, two version words, then length-prefixed raw blocks; kafka-python, Java).
fn snappy(data: &[u8]) -> Result<Vec<u8>, String> {
    const XERIAL: &[u8] = b"\x82SNAPPY\x00";
    let bad = |e: snap::Error| format!("cannot decompress the snappy batch: {e}");
    if !data.starts_with(XERIAL) {
        return snap::raw::Decoder::new().decompress_vec(data).map_err(bad);
    }
    let mut out = Vec::new();
    let mut pos = XERIAL.len() + 8;
    while pos < data.len() {
        let len = data
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("truncated snappy block length")?;
        pos += 4;
        let block = data.get(pos..pos + len).ok_or("truncated snappy block")?;
        out.extend(snap::raw::Decoder::new().decompress_vec(block).map_err(bad)?);
        pos += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_codec_round_trips() {
        let plain: Vec<u8> = (0..5000u32).flat_map(|i| (i % 251).to_be_bytes()).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        assert_eq!(decompress(1, &gz.finish().unwrap()).unwrap(), plain);
        let raw = snap::raw::Encoder::new().compress_vec(&plain).unwrap();
        assert_eq!(decompress(2, &raw).unwrap(), plain);
        let mut xerial = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
        for chunk in plain.chunks(7000) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            xerial.extend((block.len() as u32).to_be_bytes());
            xerial.extend(block);
        }
        assert_eq!(decompress(2, &xerial).unwrap(), plain);
        let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
        lz.write_all(&plain).unwrap();
        assert_eq!(decompress(3, &lz.finish().unwrap()).unwrap(), plain);
        assert_eq!(decompress(4, &zstd::stream::encode_all(&plain[..], 1).unwrap()).unwrap(), plain);
        assert!(decompress(4, b"not zstd").is_err());
        assert!(decompress(2, b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x09ab").is_err());
    }
}
