//! Parse formats: what `parse FORMAT as T` understands, and the fields each one can fill.

use super::optional;
use flowc_compiler::builtins::{FormatSig, ParamType, Scalar};

/// The fields of the Apache common log format, in order.
const COMMON_FIELDS: &[(&str, Scalar)] = &[
    ("host", Scalar::String),
    ("ident", Scalar::String),
    ("user", Scalar::String),
    ("ts", Scalar::Timestamp),
    ("request", Scalar::String),
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
    ("request", Scalar::String),
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
    ("procid", Scalar::String),
    ("msgid", Scalar::String),
    ("severity", Scalar::String),
    ("facility", Scalar::String),
    ("priority", Scalar::Int),
    ("version", Scalar::Int),
    ("structured_data", Scalar::String),
    ("message", Scalar::String),
];

/// What an Apache request that is not `METHOD PATH PROTOCOL` (`-`, a TLS handshake) leaves null.
const REQUEST_PARTS: &[&str] = &["method", "path", "protocol"];

/// Every parse format.
pub const FORMATS: &[FormatSig] = &[
    FormatSig {
        name: "json",
        summary: "One JSON object per line; its keys fill the fields of the same name.",
        needs_pattern: false,
        fields: None,
        sometimes_absent: &[],
        params: &[],
    },
    FormatSig {
        name: "csv",
        summary: "Comma-separated values; columns fill the type's fields in order, or by name with `header = true`.",
        needs_pattern: false,
        fields: None,
        sometimes_absent: &[],
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
        sometimes_absent: &[],
        params: &[],
    },
    FormatSig {
        name: "combined",
        summary: "Apache/NGINX combined log format: common plus referer and user agent. `request` is the request line as sent; a request that is not `METHOD PATH PROTOCOL` (Apache's `-`, a TLS handshake) leaves `method`, `path` and `protocol` null (W0009 when the type requires them).",
        needs_pattern: false,
        fields: Some(COMBINED_FIELDS),
        sometimes_absent: REQUEST_PARTS,
        params: &[],
    },
    FormatSig {
        name: "common",
        summary: "Apache common log format (`%h %l %u %t \"%r\" %>s %b`); `request`, `method`, `path` and `protocol` as for `combined`.",
        needs_pattern: false,
        fields: Some(COMMON_FIELDS),
        sometimes_absent: REQUEST_PARTS,
        params: &[],
    },
    FormatSig {
        name: "logfmt",
        summary: "`key=value` pairs separated by spaces (values bare or quoted, `\\\"` escapes undone, a bare key `true` for a bool field); keys fill the fields of the same name.",
        needs_pattern: false,
        fields: None,
        sometimes_absent: &[],
        params: &[],
    },
    FormatSig {
        name: "syslog",
        summary: "A syslog message, RFC 3164 or RFC 5424 (detected per line); `-` and parts a line lacks are null, `severity` and `facility` are names (`err`, `local4`), `priority` the number.",
        needs_pattern: false,
        fields: Some(SYSLOG_FIELDS),
        sometimes_absent: &[],
        params: &[],
    },
];
