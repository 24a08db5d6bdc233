//! Protobuf zig-zag varints, the integer encoding inside Kafka records.

/// Appends `v` as a zig-zag varint (Kafka's `varint`).
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: i32) {
    put_uvarint(buf, ((v << 1) ^ (v >> 31)) as u32 as u64);
}

/// Appends `v` as a zig-zag varlong (Kafka's `varlong`).
pub(crate) fn put_varlong(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// The encoded size of `v` as a zig-zag varint.
pub(crate) fn varint_len(v: i32) -> usize {
    uvarint_len(((v << 1) ^ (v >> 31)) as u32 as u64)
}

/// The encoded size of `v` as a zig-zag varlong.
pub(crate) fn varlong_len(v: i64) -> usize {
    uvarint_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Reads a zig-zag varint from `buf` at `*pos`, advancing it; `None` if truncated or too long.
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    let u = get_uvarint(buf, pos, 5)?;
    if u > u64::from(u32::MAX) {
        return None;
    }
    let u = u as u32;
    Some(((u >> 1) as i32) ^ -((u & 1) as i32))
}

/// Reads a zig-zag varlong from `buf` at `*pos`, advancing it; `None` if truncated or too long.
pub(crate) fn get_varlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let u = get_uvarint(buf, pos, 10)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

fn put_uvarint(buf: &mut Vec<u8>, mut u: u64) {
    while u >= 0x80 {
        buf.push((u as u8) | 0x80);
        u >>= 7;
    }
    buf.push(u as u8);
}

fn uvarint_len(u: u64) -> usize {
    let bits = 64 - (u | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn get_uvarint(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Option<u64> {
    let mut result: u64 = 0;
    for i in 0..max_bytes {
        let b = *buf.get(*pos + i)?;
        result |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *pos += i + 1;
            return Some(result);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_and_sizes() {
        for v in [0, 1, -1, 63, -64, 64, 300, -300, i32::MAX, i32::MIN] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "len of {v}");
            let mut pos = 0;
            assert_eq!(get_varint(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
        }
        for v in [0i64, 1, -1, 1 << 40, -(1 << 40), i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            put_varlong(&mut buf, v);
            assert_eq!(buf.len(), varlong_len(v));
            let mut pos = 0;
            assert_eq!(get_varlong(&buf, &mut pos), Some(v));
        }
    }

    #[test]
    fn zigzag_matches_protobuf() {
        let mut buf = Vec::new();
        put_varint(&mut buf, -1);
        put_varint(&mut buf, 1);
        put_varint(&mut buf, 150);
        assert_eq!(buf, [0x01, 0x02, 0xac, 0x02]);
    }

    #[test]
    fn truncated_and_overlong_inputs_are_rejected() {
        let mut pos = 0;
        assert_eq!(get_varint(&[0x80], &mut pos), None);
        assert_eq!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], &mut pos), None);
        assert_eq!(pos, 0);
    }
}
