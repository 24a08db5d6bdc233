//! The table of diagnostic codes: each code is stable, never reused, and has an explain page.

/// A diagnostic code: one of the constants of this module (`codes::E0302`), each in [`CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// The code as written in diagnostics and `flowc explain` (`"E0302"`).
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One diagnostic code and its documentation.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    /// The `flowc explain` page: what it means, a wrong example, the fix (Markdown).
    pub page: &'static str,
}

macro_rules! codes {
    ($($code:ident => $title:literal,)*) => {
        $(
            #[doc = $title]
            pub const $code: Code = Code(stringify!($code));
        )*

        /// Every code the checker can emit, in order.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo {
                code: $code.as_str(),
                title: $title,
                page: include_str!(concat!("../../docs/diagnostics/", stringify!($code), ".md")),
            },)*
        ];
    };
}

codes! {
    E0101 => "syntax error",
    E0102 => "unterminated string",
    E0103 => "number out of range",
    E0104 => "unknown unit",
    E0105 => "nesting too deep",
    E0106 => "invalid escape in string",
    E0107 => "invalid environment interpolation",
    E0108 => "duplicate option",
    E0109 => "file is not valid UTF-8",
    E0110 => "nothing may follow a fan-out or route",
    E0201 => "duplicate name",
    E0202 => "undefined name",
    E0203 => "unknown type",
    E0204 => "wrong kind of name",
    E0205 => "duplicate field in record type",
    E0206 => "recursive type",
    E0301 => "unknown connector kind",
    E0302 => "unknown option",
    E0303 => "missing required option",
    E0304 => "option has the wrong type",
    E0305 => "option value out of range",
    E0306 => "unknown option value",
    E0307 => "conflicting options",
    E0308 => "unknown parse format",
    E0309 => "invalid regular expression",
    E0310 => "parse pattern missing or misplaced",
    E0311 => "format cannot produce the declared type",
    E0312 => "invalid path template escape",
    E0313 => "unknown field in path template",
    E0314 => "time escape without a timestamp",
    E0315 => "invalid network address",
    E0316 => "sink group member misused",
    E0401 => "unknown field",
    E0402 => "operator applied to wrong types",
    E0403 => "condition is not a boolean",
    E0404 => "unknown function",
    E0405 => "wrong number of arguments",
    E0406 => "argument has the wrong type",
    E0407 => "field access on a non-record",
    E0408 => "comparison of incompatible types",
    E0409 => "pattern of a regex match is not a string literal",
    E0410 => "duplicate output field",
    E0411 => "`in` needs a list of the same type",
    E0501 => "stream type mismatch",
    E0502 => "columnar sink fed untyped lines",
    E0503 => "topic key is not a field",
    E0504 => "inputs of a node disagree on type",
    E0505 => "nothing to parse",
    E0506 => "topic key has an unsupported type",
    E0601 => "cycle in the dataflow graph",
    E0602 => "edge into a source",
    E0603 => "edge out of a sink",
    E0604 => "consumer group on something that is not a topic",
    E0605 => "sink has no input",
    E0606 => "channel has no input",
    E0607 => "records have nowhere to go",
    E0701 => "Kafka brokers unreachable",
    E0702 => "topic missing on the Kafka cluster",
    E0801 => "test names no node of the pipeline",
    E0802 => "duplicate test name",
    E0803 => "test events do not match the node's type",
    E0804 => "test input into a sink",
    E0805 => "test expectation at a source",
    E0806 => "test expects nothing",
    E0807 => "tests file holds more than tests",
    E0808 => "node given twice in one test",
    E0809 => "test has no input",
    W0001 => "topic nobody reads",
    W0002 => "memory channel on a path",
    W0003 => "source without delivery guarantee",
    W0004 => "unused type",
    W0005 => "route without else",
    W0006 => "roll settings make tiny files",
    W0007 => "condition is constant",
    W0008 => "listener reachable from other hosts",
    W0009 => "parse drops lines without a request",
    W0010 => "test expects events where none can arrive",
}

/// The code's entry, if the code exists.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|info| info.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_explained() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} then {}: codes are listed once, in order",
                pair[0].code,
                pair[1].code
            );
        }
        for info in CODES {
            let shape = info.code.len() == 5
                && (info.code.starts_with('E') || info.code.starts_with('W'))
                && info.code[1..].chars().all(|c| c.is_ascii_digit());
            assert!(shape, "`{}` is not a code", info.code);
            assert!(!info.title.is_empty() && info.page.trim_start().starts_with('#'), "{} has no page", info.code);
            assert_eq!(lookup(info.code).map(|i| i.code), Some(info.code));
        }
    }
}
