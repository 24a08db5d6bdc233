//! Parse formats: what `parse FORMAT as T` understands, and the fields each one can fill.

use super::optional;
use flowc_compiler::builtins::{FormatSig, ParamType, Scalar};

/// The fields of the Apache common log format, in order.
const COMMON_FIELDS: &[(&str, Scalar)] = &[
    ("host", Scalar::String),
    ("ident", Scalar::String),
    ("user", Scalar::String),
    ("ts", Scalar::Timestamp),
    ("method", Scalar::String),
    ("path", Scalar::String),
    ("protocol", Scalar::String),
    ("status", Scalar::Int),
    ("bytes", Scalar::Int),
];

/// The fields of the Apache combined log format: common plus referer and user agent.
const COMBINED_FIELDS: &[(&str, Scalar)] = &[
    ("host", Scalar::String),
    ("ident", Scalar::String),
    ("user", Scalar::String),
    ("ts", Scalar::Timestamp),
    ("method", Scalar::String),
    ("path", Scalar::String),
    ("protocol", Scalar::String),
    ("status", Scalar::Int),
    ("bytes", Scalar::Int),
    ("referer", Scalar::String),
    ("agent", Scalar::String),
];

/// The fields of a syslog message (RFC 3164 or RFC 5424).
const SYSLOG_FIELDS: &[(&str, Scalar)] = &[
    ("ts", Scalar::Timestamp),
    ("host", Scalar::String),
    ("app", Scalar::String),
    ("pid", Scalar::Int),
    ("severity", Scalar::String),
    ("facility", Scalar::String),
    ("message", Scalar::String),
];

/// Every parse format.
pub const FORMATS: &[FormatSig] = &[
    FormatSig {
        name: "json",
        summary: "One JSON object per line; its keys fill the fields of the same name.",
        needs_pattern: false,
        fields: None,
        params: &[],
    },
    FormatSig {
        name: "csv",
        summary: "Comma-separated values; columns fill the type's fields in order, or by name with `header = true`.",
        needs_pattern: false,
        fields: None,
        params: &[
            optional("delimiter", ParamType::String, "\",\"", "The one-character column separator."),
            optional(
                "header",
                ParamType::Bool,
                "false",
                "The first line names the columns: it is skipped and columns are matched to fields by name.",
            ),
        ],
    },
    FormatSig {
        name: "regex",
        summary:
            "A regular expression (`parse regex \"…\" as T`); each named capture group fills the field of that name.",
        needs_pattern: true,
        fields: None,
        params: &[],
    },
    FormatSig {
        name: "combined",
        summary: "Apache/NGINX combined log format: common plus referer and user agent.",
        needs_pattern: false,
        fields: Some(COMBINED_FIELDS),
        params: &[],
    },
    FormatSig {
        name: "common",
        summary: "Apache common log format (`%h %l %u %t \"%r\" %>s %b`).",
        needs_pattern: false,
        fields: Some(COMMON_FIELDS),
        params: &[],
    },
    FormatSig {
        name: "logfmt",
        summary: "`key=value` pairs separated by spaces (values may be quoted); keys fill the fields of the same name.",
        needs_pattern: false,
        fields: None,
        params: &[],
    },
    FormatSig {
        name: "syslog",
        summary: "A syslog message, RFC 3164 or RFC 5424 (detected per line).",
        needs_pattern: false,
        fields: Some(SYSLOG_FIELDS),
        params: &[],
    },
];
