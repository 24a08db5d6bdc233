//! The `files` sink's own rules, run by `flowc check` through its signature's hook: which time fills
//! the path's escapes (E0314), and roll settings that make thousands of tiny files (W0006).

use flowc_compiler::builtins::NodeCheck;
use flowc_compiler::graph::{OptionMap, OptionValue};
use flowc_compiler::types::{StreamType, Type};
use flowc_compiler::Diagnostic;

/// Which time fills a path's time escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BucketTime {
    /// The sink's clock when it writes (`use_local_time = true`, or no time in the records).
    Clock,
    /// This timestamp field of the record (`time_field`, or the records' only timestamp).
    Field(String),
    /// Nothing chose one: the records have none or several (these) timestamp fields.
    Unchosen(Vec<String>),
}

/// The bucket time's rule: `use_local_time`, else `time_field`, else the records' only timestamp.
pub(crate) fn bucket_time(use_local_time: bool, time_field: Option<&str>, input: Option<&StreamType>) -> BucketTime {
    if use_local_time {
        return BucketTime::Clock;
    }
    if let Some(field) = time_field {
        return BucketTime::Field(field.to_string());
    }
    let mut stamps: Vec<String> = input
        .map(|t| {
            t.record.fields.iter().filter(|f| matches!(f.ty.base(), Type::Timestamp)).map(|f| f.name.clone()).collect()
        })
        .unwrap_or_default();
    match stamps.len() {
        1 => BucketTime::Field(stamps.remove(0)),
        _ => BucketTime::Unchosen(stamps),
    }
}

/// The hook: both rules.
pub(crate) fn check(node: &NodeCheck<'_>, diags: &mut Vec<Diagnostic>) {
    check_time(node, diags);
    check_roll(node, diags);
}

/// E0314: `time_field` names a timestamp, and a path with time escapes has a time to fill them.
fn check_time(node: &NodeCheck<'_>, diags: &mut Vec<Diagnostic>) {
    let Some(input) = node.input else { return };
    let Some(OptionValue::Template(path)) = node.options.get("path") else { return };
    let path_span = node.span_of("path");
    if let Some(OptionValue::Word(field)) = node.options.get("time_field") {
        if let Some(f) = input.record.field(field) {
            if !matches!(f.ty.base(), Type::Timestamp | Type::Error) {
                diags.push(
                    Diagnostic::error(
                        "E0314",
                        format!("`time_field = {field}` names the field `{field}: {}`, not a timestamp", f.ty),
                    )
                    .at(node.written_span("time_field").unwrap_or(path_span), "not a timestamp")
                    .help("name a field of type timestamp, or parse the time into one"),
                );
            }
        }
        return;
    }
    if !path.uses_time() || is_true(node.options, "use_local_time") {
        return;
    }
    let BucketTime::Unchosen(stamps) = bucket_time(false, None, Some(input)) else { return };
    let help = match stamps.as_slice() {
        [] => "these records carry no timestamp: bucket by arrival time with `use_local_time = true`, or parse a timestamp field".to_string(),
        several => format!(
            "the records have several timestamps ({}): choose one with `time_field = {}`, or bucket by arrival time with `use_local_time = true`",
            several.join(", "),
            several[0]
        ),
    };
    diags.push(
        Diagnostic::error("E0314", "the path has time escapes, but no time is chosen to fill them")
            .at(path_span, "time escapes used here")
            .help(help),
    );
}

fn is_true(options: &OptionMap, name: &str) -> bool {
    matches!(options.get(name), Some(OptionValue::Bool(true)))
}

/// W0006: roll settings that make thousands of tiny files.
fn check_roll(node: &NodeCheck<'_>, diags: &mut Vec<Diagnostic>) {
    let Some(OptionValue::Record(roll)) = node.options.get("roll") else { return };
    let mut reasons = Vec::new();
    if let Some(OptionValue::DurationMs(ms)) = roll.get("interval") {
        if *ms > 0 && *ms < 60_000 {
            reasons.push(format!(
                "`interval` closes a file every {}s (up to {} files an hour per bucket)",
                ms / 1000,
                3_600_000 / ms
            ));
        }
    }
    if let Some(OptionValue::Bytes(bytes)) = roll.get("size") {
        if *bytes > 0 && *bytes < 1 << 20 {
            reasons.push(format!("`size` closes a file every {bytes} bytes"));
        }
    }
    if let Some(OptionValue::Int(count)) = roll.get("count") {
        if *count > 0 && *count < 1_000 {
            reasons.push(format!("`count` closes a file every {count} events"));
        }
    }
    if reasons.is_empty() {
        return;
    }
    diags.push(
        Diagnostic::warning("W0006", format!("sink `{}` will make many tiny files", node.name))
            .at(node.span_of("roll"), reasons.join("; "))
            .help("tiny files slow every reader (HDFS, S3, query engines); roll at minutes and tens of MiB, e.g. `roll = { interval = 5m, size = 128MiB }`"),
    );
}
