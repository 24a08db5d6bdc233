//! "Did you mean": the closest candidate by edit distance, if it is close enough.

/// The candidate closest to `word`, when the distance is small for the word's length.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let distance = if candidate.to_ascii_lowercase() == lower {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &candidate.to_ascii_lowercase())
        };
        let limit = (word.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_words_are_suggested() {
        assert_eq!(did_you_mean("spoldir", ["spooldir", "exec", "tail"]), Some("spooldir"));
        assert_eq!(did_you_mean("capacty", ["capacity", "keep_alive"]), Some("capacity"));
        assert_eq!(did_you_mean("Logger", ["logger", "files"]), Some("logger"));
        assert_eq!(did_you_mean("zzz", ["spooldir", "exec"]), None);
    }
}
