//! Parsing and printing durations (`500ms`, `3s`, `10m`, `168h`, `7d`) and sizes (`20B`, `64KiB`, `1GB`).

use flowc_compiler::syntax::literals::{scale_of, DURATION_UNITS, SIZE_UNITS};
use std::time::Duration;

/// Parses a duration with a unit of the language's table (`ms`, `s`, `m`, `h`, `d`, `w`; also `min`),
/// `_` allowed in the number.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim().replace('_', "");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 =
        num.parse().map_err(|_| format!("invalid duration `{text}` (expected e.g. 500ms, 3s, 10m, 168h, 7d)"))?;
    let unit = if unit == "min" { "m" } else { unit };
    let Some(scale) = scale_of(DURATION_UNITS, unit) else {
        return Err(format!("invalid duration `{text}`: unit must be ms, s, m, h, d or w"));
    };
    n.checked_mul(scale).map(Duration::from_millis).ok_or_else(|| format!("duration `{text}` is too large"))
}

/// Parses a size: plain bytes, or a unit of the language's table: `B`, `KB`/`MB`/`GB`/`TB` (powers of
/// 1000, `kB` too), `KiB`/`MiB`/`GiB`/`TiB` (of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid size `{text}` (expected e.g. 20B, 64KiB, 128MiB)"))?;
    let unit = match unit {
        "" => "B",
        "kB" => "KB",
        other => other,
    };
    let Some(mult) = scale_of(SIZE_UNITS, unit) else {
        return Err(format!("invalid size `{text}`: unit must be B, KB, MB, GB, KiB, MiB or GiB"));
    };
    n.checked_mul(mult).ok_or_else(|| format!("size `{text}` is too large"))
}

/// Prints milliseconds with the largest unit that divides them (`168h`, `1500ms`).
pub fn format_duration_ms(ms: u64) -> String {
    for (unit, n) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms >= n && ms.is_multiple_of(n) {
            return format!("{}{unit}", ms / n);
        }
    }
    format!("{ms}ms")
}

/// Prints a byte count with a binary unit when it is exact (`64MiB`), else in bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, n) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= n && bytes.is_multiple_of(n) {
            return format!("{}{unit}", bytes / n);
        }
    }
    format!("{bytes}B")
}

/// Formats milliseconds since the epoch as RFC 3339 UTC (`2026-11-25T10:52:49.123Z`).
pub fn format_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("168h").unwrap(), Duration::from_secs(168 * 3600));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1_000s").unwrap(), Duration::from_secs(1000));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5y").is_err());
        assert_eq!(format_duration_ms(168 * 3_600_000), "7d");
        assert_eq!(format_duration_ms(1500), "1500ms");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20B").unwrap(), 20);
        assert_eq!(parse_size("64KiB").unwrap(), 65_536);
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("12XB").is_err());
        assert_eq!(format_size(64 << 20), "64MiB");
        assert_eq!(format_size(1000), "1000B");
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
