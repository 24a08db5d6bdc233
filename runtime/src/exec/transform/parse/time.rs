//! Times as logs write them: RFC 3339, Apache's `10/Oct/2000:13:55:36 -0700` (read by a fixed-layout
//! fast path, chrono for anything it does not take), or epoch milliseconds.

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Milliseconds since the epoch of a time written as RFC 3339, Apache's layout or epoch milliseconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    if let Some(ms) = apache(text.as_bytes()) {
        return Some(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z") {
        return Some(t.timestamp_millis());
    }
    text.parse().ok()
}

/// The date and zone of the last Apache time read, with the second its day starts at there: the
/// times of one day (all of a log's, nearly) are read from their time of day alone.
#[derive(Debug, Default)]
pub(crate) struct Memo(Option<([u8; 17], i64)>);

/// [`parse_time`], remembering the last Apache time's date in `memo`.
pub(crate) fn parse_time_memo(text: &str, memo: &mut Memo) -> Option<i64> {
    let b = text.as_bytes();
    if layout(b) {
        let base = match &memo.0 {
            Some((key, base)) if key[..11] == b[..11] && key[11..] == b[20..] => Some(*base),
            _ => {
                let base = date_base(b);
                if let Some(base) = base {
                    let mut key = [0u8; 17];
                    key[..11].copy_from_slice(&b[..11]);
                    key[11..].copy_from_slice(&b[20..]);
                    memo.0 = Some((key, base));
                }
                base
            }
        };
        if let (Some(base), Some(of_day)) = (base, time_of_day(b)) {
            return Some((base + of_day) * 1000);
        }
    }
    parse_time(text)
}

/// `dd/Mon/yyyy:HH:MM:SS ±hhmm` exactly as Apache writes it (two-digit day, English month, seconds
/// below 60, an offset below 24 hours); `None` for anything else, which chrono then reads.
fn apache(b: &[u8]) -> Option<i64> {
    if !layout(b) {
        return None;
    }
    Some((date_base(b)? + time_of_day(b)?) * 1000)
}

/// Whether the separators stand where Apache's layout has them.
fn layout(b: &[u8]) -> bool {
    b.len() == 26 && b[2] == b'/' && b[6] == b'/' && b[11] == b':' && b[14] == b':' && b[17] == b':' && b[20] == b' '
}

/// The second (since the epoch) at which an Apache time's day starts in its zone.
fn date_base(b: &[u8]) -> Option<i64> {
    let day = digits(&b[0..2])?;
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as i64 + 1;
    let year = digits(&b[7..11])?;
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (off_h, off_m) = (digits(&b[22..24])?, digits(&b[24..26])?);
    if day < 1 || day > days_in_month(year, month) || off_h > 23 || off_m > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 - sign * (off_h * 3600 + off_m * 60))
}

/// The seconds since midnight of an Apache time.
fn time_of_day(b: &[u8]) -> Option<i64> {
    let (hour, minute, second) = (digits(&b[12..14])?, digits(&b[15..17])?, digits(&b[18..20])?);
    (hour <= 23 && minute <= 59 && second <= 59).then_some(hour * 3600 + minute * 60 + second)
}

/// The value of ASCII digits.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_apache(text: &str) -> Option<i64> {
        chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z").ok().map(|t| t.timestamp_millis())
    }

    #[test]
    fn the_fast_path_reads_apache_times_and_leaves_the_rest_to_chrono() {
        assert_eq!(apache(b"10/Oct/2000:13:55:36 -0700"), Some(971_211_336_000));
        assert_eq!(apache(b"01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(apache(b"29/Feb/2024:23:59:59 +0130"), chrono_apache("29/Feb/2024:23:59:59 +0130"));
        // Not the fixed layout: chrono decides.
        for text in ["30/Feb/2024:00:00:00 +0000", "10/oct/2000:13:55:36 -0700", "1/Oct/2000:13:55:36 -0700"] {
            assert_eq!(apache(text.as_bytes()), None, "{text}");
        }
        assert_eq!(parse_time("10/oct/2000:13:55:36 -0700"), Some(971_211_336_000));
        assert_eq!(parse_time("2000-10-10T20:55:36Z"), Some(971_211_336_000));
        assert_eq!(parse_time("971211336000"), Some(971_211_336_000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn times_read_with_a_memo_are_the_times_read_without() {
        let mut memo = Memo::default();
        for text in [
            "10/Oct/2000:13:55:36 -0700",
            "10/Oct/2000:23:59:59 -0700",
            "10/Oct/2000:13:55:36 +0700",
            "10/Oct/2000:24:00:00 -0700",
            "11/Oct/2000:00:00:00 -0700",
            "10/Oct/2000:13:55:36 -0700",
            "31/Feb/2000:13:55:36 -0700",
            "10/oct/2000:13:55:36 -0700",
            "2000-10-10T20:55:36Z",
            "10/Oct/2000:1x:55:36 -0700",
        ] {
            assert_eq!(parse_time_memo(text, &mut memo), parse_time(text), "{text}");
        }
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_chrono(
            day in 0u32..33, month in 0usize..12, year in 0u32..10000, hour in 0u32..26, minute in 0u32..62,
            second in 0u32..62, minus in any::<bool>(), off_h in 0u32..30, off_m in 0u32..62,
        ) {
            let text = format!(
                "{day:02}/{}/{year:04}:{hour:02}:{minute:02}:{second:02} {}{off_h:02}{off_m:02}",
                std::str::from_utf8(MONTHS[month]).unwrap(),
                if minus { '-' } else { '+' },
            );
            if let Some(fast) = apache(text.as_bytes()) {
                prop_assert_eq!(Some(fast), chrono_apache(&text), "{}", text);
            }
            prop_assert_eq!(parse_time(&text), chrono_apache(&text).or_else(|| text.parse().ok()));
            // With a memo of another date, then of this one.
            let mut memo = Memo::default();
            parse_time_memo("10/Oct/2000:13:55:36 -0700", &mut memo);
            prop_assert_eq!(parse_time_memo(&text, &mut memo), parse_time(&text));
            prop_assert_eq!(parse_time_memo(&text, &mut memo), parse_time(&text));
        }
    }
}
