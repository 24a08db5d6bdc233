//! `flowc import flume.properties [--agent NAME] [-o FILE]`: a Flume agent as a `.flow` file.
//!
//! The translation is `crate::import::translate`; this command reads the file, writes the `.flow` text
//! (stdout, or `-o FILE`) and prints each note as `FILE:LINE: warning: …` on stderr.

use super::EXIT_USAGE;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Flume properties file (e.g. `flume-conf.properties`).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The agent to translate (Flume's `-n NAME`); needed when the file defines several.
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// Write the `.flow` file here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

pub fn run(args: &Args) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = writeln!(stderr, "error: cannot read {}: {err}", args.file);
            return EXIT_USAGE;
        }
    };
    // Java reads properties files as ISO-8859-1 (older) or UTF-8 (newer); accept both.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => err.into_bytes().iter().map(|b| char::from(*b)).collect(),
    };
    let (flow, diags) = match crate::import::translate(&text, args.agent.as_deref()) {
        Ok(result) => result,
        Err(message) => {
            let _ = writeln!(stderr, "error: {}: {message}", args.file);
            return EXIT_USAGE;
        }
    };
    for d in &diags {
        let _ = writeln!(stderr, "{}:{}: warning: {}", args.file, d.line, d.message);
    }
    match &args.output {
        Some(path) => {
            if let Err(err) = std::fs::write(path, &flow) {
                let _ = writeln!(stderr, "error: cannot write {path}: {err}");
                return EXIT_USAGE;
            }
        }
        None => {
            let _ = std::io::stdout().lock().write_all(flow.as_bytes());
        }
    }
    0
}
