//! What `flowc run` shows while it runs: on a terminal, a table of every node's rates and totals
//! redrawn in place; elsewhere, a `tracing` line per node at an interval. Log lines go through the
//! same console, so a warning never tears the table.

use flowc_runtime::exec::NodeHandle;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How the run shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// A table redrawn in place on standard error (a terminal).
    Live,
    /// One `tracing` line per node every interval.
    Log(Duration),
    /// Only the summary at the end.
    Off,
}

/// Sends `tracing` events to standard error through the console: `FLOWC_LOG` filters them
/// (default `info`); on a terminal they are short (no time stamp), otherwise time-stamped.
pub fn init_tracing(live: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOWC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(|| Line { buf: Vec::new() });
    let _ = if live { builder.without_time().try_init() } else { builder.try_init() };
}

/// Shows the nodes' counters until the process ends: call from a task on the run's runtime.
pub async fn watch(nodes: Vec<NodeHandle>, stats: Stats) {
    let every = match stats {
        Stats::Off => return,
        Stats::Live => Duration::from_millis(500),
        Stats::Log(every) => every,
    };
    if stats == Stats::Live {
        console().live = true;
    }
    let started = Instant::now();
    let mut last = Instant::now();
    let mut before: Vec<(u64, u64)> = nodes.iter().map(|n| (n.metrics.events_in(), n.metrics.events_out())).collect();
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let seconds = last.elapsed().as_secs_f64().max(1e-3);
        last = Instant::now();
        let rows: Vec<Row> = nodes
            .iter()
            .zip(before.iter_mut())
            .map(|(node, prev)| {
                let m = &node.metrics;
                let (events_in, events_out) = (m.events_in(), m.events_out());
                let row = Row {
                    name: &node.name,
                    what: &node.what,
                    in_rate: (events_in - prev.0.min(events_in)) as f64 / seconds,
                    out_rate: (events_out - prev.1.min(events_out)) as f64 / seconds,
                    events_in,
                    events_out,
                    bytes: m.bytes(),
                    errors: m.errors(),
                    lag: m.lag(),
                };
                *prev = (events_in, events_out);
                row
            })
            .collect();
        match stats {
            Stats::Live => {
                draw(table(format!("flowc run: {}s, ctrl-c drains and stops", started.elapsed().as_secs()), &rows))
            }
            _ => {
                for row in &rows {
                    tracing::info!(
                        "{} ({}): in {} ({}/s), out {} ({}/s), {}, errors {}, lag {}",
                        row.name,
                        row.what,
                        row.events_in,
                        count(row.in_rate),
                        row.events_out,
                        count(row.out_rate),
                        bytes(row.bytes),
                        row.errors,
                        row.lag
                    );
                }
            }
        }
    }
}

/// Erases the live table for good (the summary is printed in its place).
pub fn finish() {
    let mut state = console();
    state.erase();
    state.live = false;
}

/// One node's line of the table.
pub(crate) struct Row<'a> {
    pub(crate) name: &'a str,
    pub(crate) what: &'a str,
    pub(crate) in_rate: f64,
    pub(crate) out_rate: f64,
    pub(crate) events_in: u64,
    pub(crate) events_out: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) lag: u64,
}

/// The table of nodes under a title line, as `flowc run` and `flowc top` draw it.
pub(crate) fn table(title: String, rows: &[Row<'_>]) -> Vec<String> {
    let name = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(4);
    let what = rows.iter().map(|r| r.what.len()).max().unwrap_or(0).max(4);
    let mut lines = vec![title];
    lines.push(format!(
        "  {:name$}  {:what$}  {:>8}  {:>8}  {:>9}  {:>9}  {:>10}  {:>7}  {:>7}",
        "node", "kind", "in/s", "out/s", "in", "out", "bytes", "errors", "lag"
    ));
    for r in rows {
        lines.push(format!(
            "  {:name$}  {:what$}  {:>8}  {:>8}  {:>9}  {:>9}  {:>10}  {:>7}  {:>7}",
            r.name,
            r.what,
            count(r.in_rate),
            count(r.out_rate),
            count(r.events_in as f64),
            count(r.events_out as f64),
            bytes(r.bytes),
            r.errors,
            r.lag
        ));
    }
    lines
}

/// `950`, `12.3k`, `4.20M`.
fn count(n: f64) -> String {
    match n {
        n if n < 10_000.0 => format!("{}", n.round() as u64),
        n if n < 1e6 => format!("{:.1}k", n / 1e3),
        n if n < 1e9 => format!("{:.2}M", n / 1e6),
        n => format!("{:.2}G", n / 1e9),
    }
}

/// `512 B`, `1.5 KiB`, `12.0 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

struct Console {
    live: bool,
    /// The table as last drawn (redrawn under each log line).
    table: Vec<String>,
    /// Lines of the table now on the screen.
    drawn: usize,
}

fn console() -> std::sync::MutexGuard<'static, Console> {
    static CONSOLE: OnceLock<Mutex<Console>> = OnceLock::new();
    CONSOLE
        .get_or_init(|| Mutex::new(Console { live: false, table: Vec::new(), drawn: 0 }))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Console {
    fn erase(&mut self) {
        if self.drawn > 0 {
            // Up to the table's first line, then clear to the end of the screen.
            eprint!("\x1b[{}F\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn show(&mut self) {
        if !self.live {
            return;
        }
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).unwrap_or(120).max(20);
        let mut out = String::new();
        for line in &self.table {
            // A wrapped line would break the count of lines to move up over.
            out.extend(line.chars().take(width - 1));
            out.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
        self.drawn = self.table.len();
    }
}

fn draw(lines: Vec<String>) {
    let mut state = console();
    if !state.live {
        return;
    }
    state.erase();
    state.table = lines;
    state.show();
}

/// One formatted log event, written through the console when dropped.
struct Line {
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let mut state = console();
        state.erase();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&self.buf);
        let _ = err.flush();
        drop(err);
        state.show();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes_read_at_a_glance() {
        assert_eq!(count(950.4), "950");
        assert_eq!(count(12_345.0), "12.3k");
        assert_eq!(count(4_200_000.0), "4.20M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
    }

    #[test]
    fn the_table_has_a_row_per_node_under_a_header() {
        let rows = [Row {
            name: "web",
            what: "source tail",
            in_rate: 0.0,
            out_rate: 41_234.0,
            events_in: 0,
            events_out: 123_456,
            bytes: 2048,
            errors: 3,
            lag: 0,
        }];
        let lines = table("flowc run: 12s".to_string(), &rows);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("12s"));
        assert!(lines[1].contains("in/s") && lines[1].contains("lag"));
        assert!(lines[2].contains("web") && lines[2].contains("41.2k") && lines[2].contains("123.5k"));
        assert!(lines[2].contains("2.0 KiB"));
    }
}
