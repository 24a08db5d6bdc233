//! Functions callable in expressions (`where`, `set`, `select`): Flume's interceptors and small helpers.

use flowc_compiler::builtins::{FunctionSig, Scalar};

/// Every builtin function.
pub const FUNCTIONS: &[FunctionSig] = &[
    FunctionSig {
        name: "now",
        params: &[],
        returns: Scalar::Timestamp,
        doc: "The time the event passes this transform (Flume's `timestamp` interceptor).",
    },
    FunctionSig {
        name: "hostname",
        params: &[],
        returns: Scalar::String,
        doc: "The name of the host flowc runs on (Flume's `host` interceptor).",
    },
    FunctionSig {
        name: "uuid",
        params: &[],
        returns: Scalar::String,
        doc: "A new random UUID (version 4) for each event, e.g. to deduplicate downstream (Flume's UUID interceptor).",
    },
    FunctionSig {
        name: "lower",
        params: &[Scalar::String],
        returns: Scalar::String,
        doc: "The string in lower case (Unicode).",
    },
    FunctionSig {
        name: "upper",
        params: &[Scalar::String],
        returns: Scalar::String,
        doc: "The string in upper case (Unicode).",
    },
    FunctionSig {
        name: "trim",
        params: &[Scalar::String],
        returns: Scalar::String,
        doc: "The string without leading and trailing white space.",
    },
    FunctionSig {
        name: "len",
        params: &[Scalar::String],
        returns: Scalar::Int,
        doc: "The length of the string in characters (Unicode scalar values, not bytes).",
    },
    FunctionSig {
        name: "contains",
        params: &[Scalar::String, Scalar::String],
        returns: Scalar::Bool,
        doc: "Whether the first string contains the second.",
    },
    FunctionSig {
        name: "starts_with",
        params: &[Scalar::String, Scalar::String],
        returns: Scalar::Bool,
        doc: "Whether the first string starts with the second.",
    },
    FunctionSig {
        name: "ends_with",
        params: &[Scalar::String, Scalar::String],
        returns: Scalar::Bool,
        doc: "Whether the first string ends with the second.",
    },
    FunctionSig {
        name: "to_string",
        params: &[Scalar::Any],
        returns: Scalar::String,
        doc: "Any value as text (timestamps in RFC 3339, durations as written in `.flow` files).",
    },
    FunctionSig {
        name: "to_int",
        params: &[Scalar::String],
        returns: Scalar::Int,
        doc: "The string read as a decimal integer; a string that is not one makes the record malformed (handled like a `parse` error).",
    },
    FunctionSig {
        name: "to_float",
        params: &[Scalar::String],
        returns: Scalar::Float,
        doc: "The string read as a decimal number; a string that is not one makes the record malformed (handled like a `parse` error).",
    },
    FunctionSig {
        name: "parse_timestamp",
        params: &[Scalar::String, Scalar::String],
        returns: Scalar::Timestamp,
        doc: "The first string read as a time in the strftime format given by the second, e.g. `parse_timestamp(t, \"%d/%b/%Y:%H:%M:%S %z\")`; no zone in the format means UTC.",
    },
];
