//! `logger`: one line per event on standard output, whole (up to `max_bytes`): the line itself, or
//! `field=value` pairs, or one JSON object with `format = json`.

use crate::catalogue::optional;
use arrow_array::RecordBatch;
use flowc_compiler::builtins::flume::{key, FlumeConv::*, FlumeType};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::{row_json, row_text};
use flowc_runtime::exec::{blocking, BoxFuture, NodeSpec, RunError, Sink};
use flowc_runtime::exec::{Built, Connector};
use std::io::Write;

/// Flume's logger sink, logging whole events.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::sink(Logger::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "logger",
    role: Role::Sink,
    summary: "Log each event, whole and readable, to standard output (flowc's own messages go to standard error).",
    doc: "Writes one log line per event: the line itself for untyped streams, `field=value` pairs (or one \
JSON object with `format = json`) for records. Unlike Flume's logger, which shows the first 16 bytes of \
a body in hex, events are logged whole up to `max_bytes`, and a longer one is cut with a marker saying \
how many bytes were left out. A take is committed once its lines are written.",
    params: &[
        optional(
            "max_bytes",
            ParamType::Size,
            "64KiB",
            "Longest event logged in full; longer ones are cut and marked (Flume's `maxBytesToLog`, whose default is 16 bytes).",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "json"]),
            "lines",
            "`lines`: the line, or `field=value` pairs; `json`: one JSON object per event.",
        ),
        crate::catalogue::max_retries(),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "a take is committed after its events are written to the log",
    output: StreamOut::PassThrough,
    input: StreamIn::Any,
    flume: &[FlumeType::component(&["logger"], &[key("maxBytesToLog", "max_bytes", Bytes)])],
    check: None,
    weaker_when: &[],
};

pub(crate) struct Logger {
    json: bool,
    max_bytes: usize,
}

impl Logger {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Logger, RunError> {
        Ok(Logger {
            json: spec.options.string("format")?.as_deref() == Some("json"),
            max_bytes: spec.options.size_or_default("max_bytes")? as usize,
        })
    }
}

/// Cuts `text` to at most `max` bytes (on a character boundary) and says how much was left out.
fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let left = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("… [{left} more bytes]"));
}

impl Sink for Logger {
    fn write<'a>(&'a mut self, batch: &'a RecordBatch) -> BoxFuture<'a, Result<(), RunError>> {
        Box::pin(async move {
            let mut out = String::new();
            let mut line = String::new();
            for row in 0..batch.num_rows() {
                line.clear();
                if self.json {
                    line.push_str(&row_json(batch, row).to_string());
                } else {
                    row_text(batch, row, &mut line);
                }
                cut(&mut line, self.max_bytes);
                out.push_str(&line);
                out.push('\n');
            }
            blocking(|| {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush())
            })
            .map_err(|e| RunError::io(format!("writing to standard output: {e}")))
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), RunError>> {
        Box::pin(async {
            blocking(|| std::io::stdout().flush()).map_err(|e| RunError::io(format!("standard output: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_events_are_cut_and_marked() {
        let mut s = "héllo world".to_string();
        super::cut(&mut s, 2);
        assert_eq!(s, "h… [11 more bytes]");
    }
}
