//! Kafka's console tools on the embedded log: `topic`, `produce`, `consume`, `groups`, `log`.

mod consume;
mod groups;
mod produce;
mod remote;
mod table;
mod tools;
mod topic;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use flowc_runtime::log::{Log, LogOptions};

/// The log's console commands, flattened into `flowc`'s top level.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Create, list, describe and delete topics (like kafka-topics.sh).
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Append stdin's lines to a topic, one record each (like kafka-console-producer.sh).
    Produce(produce::ProduceArgs),
    /// Print a topic's records, one value per line (like kafka-console-consumer.sh).
    Consume(consume::ConsumeArgs),
    /// List consumer groups and describe their offsets and lag (like kafka-consumer-groups.sh).
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Check segment files, and cut a damaged partition at its first bad batch.
    #[command(subcommand)]
    Log(tools::LogToolCommand),
}

/// The data directory option every log command takes.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// The log's data directory.
    #[arg(long = "data-dir", env = "FLOWC_DATA_DIR", default_value = ".flow", value_name = "DIR")]
    pub data_dir: PathBuf,
}

impl DataDir {
    fn open(&self, create: bool) -> Result<Log, Failure> {
        Ok(Log::open(&self.data_dir, LogOptions { create })?)
    }
}

/// Why a command failed, and its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    /// A usage or I/O error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }

    /// The input or the data is wrong (exit 1).
    pub(crate) fn input(message: impl Into<String>) -> Failure {
        Failure { code: 1, message: message.into() }
    }
}

impl From<flowc_runtime::log::Error> for Failure {
    fn from(e: flowc_runtime::log::Error) -> Failure {
        Failure::usage(e.to_string())
    }
}

/// Runs one console command and returns the process exit code.
pub fn run(command: LogCommand) -> i32 {
    // The log's own warnings (a torn tail cut on recovery, …): short lines on standard error.
    flowc::console::init_tracing(true);
    let result = match command {
        LogCommand::Topic(c) => topic::run(c),
        LogCommand::Produce(a) => produce::run(a),
        LogCommand::Consume(a) => consume::run(a),
        LogCommand::Groups(c) => groups::run(c),
        LogCommand::Log(c) => tools::run(c),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.code
        }
    }
}

/// Whether a write error means the reader of stdout went away (`| head`): a quiet, clean stop.
pub(crate) fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
