//! Kafka's console tools on the embedded log: `topic`, `produce`, `consume`, `groups`, `log`.

use clap::Subcommand;

/// The log's console commands, flattened into `flowc`'s top level.
#[derive(Debug, Subcommand)]
pub enum LogCommand {}

/// Runs one console command and returns the process exit code.
pub fn run(command: LogCommand) -> i32 {
    match command {}
}
