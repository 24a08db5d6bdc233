//! `flowc top`: the per-node table of a running flowc, read from its `--metrics` endpoint and redrawn
//! every interval (rates from the change between two readings).

use super::wire::{body_text, get, NodeRow};
use crate::console::{table, Row};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address of the running flowc's metrics endpoint (`flowc run --metrics ADDR`).
    #[arg(long, default_value = super::DEFAULT_ADDRESS, value_name = "HOST:PORT")]
    pub metrics: String,
    /// Print the table once (totals, no rates) and exit, instead of redrawing it.
    #[arg(long)]
    pub once: bool,
    /// How often the table is redrawn, in seconds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
}

pub fn run(args: &Args) -> i32 {
    super::run_client(watch(args))
}

async fn watch(args: &Args) -> Result<(), String> {
    let every = Duration::from_secs_f64(args.interval.clamp(0.1, 3600.0));
    let mut before: HashMap<String, (u64, u64, f64)> = HashMap::new();
    let live = !args.once && std::io::stdout().is_terminal();
    loop {
        let rows = read(&args.metrics).await?;
        let lines = draw(&args.metrics, &rows, &before);
        let mut out = std::io::stdout().lock();
        if live {
            // Home and clear, then the table.
            let _ = write!(out, "\x1b[H\x1b[2J");
        }
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        if args.once {
            return Ok(());
        }
        before = rows.iter().map(|r| (r.name.clone(), (r.events_in, r.events_out, r.uptime))).collect();
        tokio::time::sleep(every).await;
    }
}

async fn read(address: &str) -> Result<Vec<NodeRow>, String> {
    let response = get(address, "/api/nodes").await?;
    let text = body_text(response).await?;
    serde_json::from_str(&text).map_err(|e| format!("{address} did not answer like flowc's metrics endpoint: {e}"))
}

fn draw(address: &str, rows: &[NodeRow], before: &HashMap<String, (u64, u64, f64)>) -> Vec<String> {
    let uptime = rows.first().map_or(0.0, |r| r.uptime);
    let table_rows: Vec<Row<'_>> = rows
        .iter()
        .map(|r| {
            let (in_rate, out_rate) = match before.get(&r.name) {
                Some((i, o, at)) if r.uptime > *at => {
                    let seconds = r.uptime - at;
                    (
                        (r.events_in.saturating_sub(*i)) as f64 / seconds,
                        (r.events_out.saturating_sub(*o)) as f64 / seconds,
                    )
                }
                _ => (0.0, 0.0),
            };
            Row {
                name: &r.name,
                what: &r.what,
                in_rate,
                out_rate,
                events_in: r.events_in,
                events_out: r.events_out,
                bytes: r.bytes,
                errors: r.errors,
                lag: r.lag,
            }
        })
        .collect();
    let failed: Vec<&str> = rows.iter().filter(|r| r.failed).map(|r| r.name.as_str()).collect();
    let state = if failed.is_empty() { String::new() } else { format!(", failed: {}", failed.join(", ")) };
    table(format!("flowc top: {address}, up {}s{state}", uptime as u64), &table_rows)
}
