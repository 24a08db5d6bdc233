//! Byte offsets ↔ editor positions: a line (0-based) and a column counted in UTF-16 code units.
//!
//! The IDE layer works on byte offsets, as the checker does; editors speak LSP, whose default column
//! is UTF-16. A Chinese character is 3 bytes in UTF-8 but 1 UTF-16 unit, an emoji 4 bytes but 2 units,
//! so columns are counted, never assumed to be bytes. Lines end at `\n`; a `\r` before it is not part
//! of the line's text.

/// A position as editors count it: 0-based line, 0-based UTF-16 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Where each line of a text starts, for converting offsets to positions and back.
#[derive(Debug, Clone)]
pub struct LineIndex {
    text_len: usize,
    /// Byte offset of the first character of each line; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text_len: text.len(), line_starts }
    }

    /// The position of byte `offset` (clamped to the text, and down to a character boundary).
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = flowc_compiler::span::floor_char_boundary(text, offset.min(self.text_len));
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let col: usize = text[start..offset].chars().map(char::len_utf16).sum();
        LineCol { line: line as u32, col: col as u32 }
    }

    /// The byte offset of a position. A column past the end of its line means the end of the line
    /// (before `\r\n`), a column inside a surrogate pair the character's start, a line past the end
    /// of the text the end of the text.
    pub fn offset(&self, text: &str, pos: LineCol) -> usize {
        let Some(&start) = self.line_starts.get(pos.line as usize) else {
            return self.text_len;
        };
        let end = self.line_starts.get(pos.line as usize + 1).map_or(self.text_len, |next| next - 1);
        let line = text[start..end].strip_suffix('\r').unwrap_or(&text[start..end]);
        let mut units = 0u32;
        for (i, ch) in line.char_indices() {
            let width = ch.len_utf16() as u32;
            if units + width > pos.col {
                return start + i;
            }
            units += width;
        }
        start + line.len()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let pos = index.line_col(text, offset);
            assert_eq!(index.offset(text, pos), offset, "offset {offset} → {pos:?}");
        }
    }

    #[test]
    fn ascii_columns_are_bytes() {
        let text = "source r1 = tail {}\nsink k = logger\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 7), LineCol { line: 0, col: 7 });
        assert_eq!(index.line_col(text, 20), LineCol { line: 1, col: 0 });
        assert_eq!(index.offset(text, LineCol { line: 1, col: 5 }), 25);
        round_trip(text);
    }

    #[test]
    fn chinese_is_one_unit_per_character() {
        let text = "// 日志收集 agent\nsource r1 = tail {}";
        let index = LineIndex::new(text);
        let agent = text.find("agent").unwrap();
        // `// ` is 3 units, the four characters 4 units (12 bytes), the space 1.
        assert_eq!(index.line_col(text, agent), LineCol { line: 0, col: 8 });
        assert_eq!(index.offset(text, LineCol { line: 0, col: 8 }), agent);
        round_trip(text);
    }

    #[test]
    fn astral_characters_are_two_units() {
        let text = "a😀b\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 5), LineCol { line: 0, col: 3 });
        // Inside the surrogate pair: the character's start.
        assert_eq!(index.offset(text, LineCol { line: 0, col: 2 }), 1);
        round_trip(text);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LineCol { line: 0, col: 99 }), 2);
        assert_eq!(index.offset(text, LineCol { line: 7, col: 0 }), text.len());
        assert_eq!(index.line_col(text, 999), LineCol { line: 1, col: 2 });
        assert_eq!(index.line_count(), 2);
    }
}
