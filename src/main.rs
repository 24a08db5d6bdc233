//! The `flowc` binary: the command-line interface over the compiler, the runtime and the stdlib.

mod log_cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// flowc: a declarative dataflow compiler and runtime.
#[derive(Debug, Parser)]
#[command(name = "flowc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Log(log_cli::LogCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Log(command) => log_cli::run(command),
    };
    ExitCode::from(code as u8)
}
