//! `flowc tap NODE`: prints sample events flowing out of a node of a running flowc, read from its
//! `--metrics` endpoint. The pipeline never waits for the tap: when the watcher is slow, it misses
//! events instead.

use super::wire::{body_text, escape, get};
use http_body_util::BodyExt;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The node whose output to show (a sink shows what it wrote).
    #[arg(value_name = "NODE")]
    pub node: String,
    /// The address of the running flowc's metrics endpoint (`flowc run --metrics ADDR`).
    #[arg(long, default_value = super::DEFAULT_ADDRESS, value_name = "HOST:PORT")]
    pub metrics: String,
    /// Stop after this many events.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
    /// `json`: each event as a JSON object; `lines`: the `line` of untyped events, JSON otherwise.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Lines,
}

pub fn run(args: &Args) -> i32 {
    super::run_client(show(args))
}

async fn show(args: &Args) -> Result<(), String> {
    let path = format!("/api/tap?node={}&limit={}", escape(&args.node), args.limit);
    let response = get(&args.metrics, &path).await?;
    if !response.status().is_success() {
        let why = body_text(response).await?;
        return Err(why.trim_end().to_string());
    }
    let mut body = response.into_body();
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("the tap ended: {e}"))?;
        let Ok(data) = frame.into_data() else { continue };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            print(&line[..line.len() - 1], args.format);
        }
    }
    Ok(())
}

fn print(json: &[u8], format: Format) {
    let text = String::from_utf8_lossy(json);
    let shown = match format {
        Format::Lines => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) if map.len() == 1 && map.get("line").is_some_and(|l| l.is_string()) => {
                map["line"].as_str().unwrap_or_default().to_string()
            }
            _ => text.into_owned(),
        },
        Format::Json => text.into_owned(),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{shown}");
    let _ = out.flush();
}
