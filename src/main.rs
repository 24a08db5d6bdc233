//! The `flowc` binary: the command-line interface over the compiler, the runtime and the stdlib.

mod log_cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The system allocator, with blocks of a gigabyte or more mapped unreserved: a request claiming a
/// huge size (a malformed Kafka frame) fails its decoding instead of aborting the process.
#[global_allocator]
static ALLOCATOR: flowc_runtime::large_alloc::LargeAllocGuard = flowc_runtime::large_alloc::LargeAllocGuard;

/// flowc: a declarative dataflow compiler and runtime.
#[derive(Debug, Parser)]
#[command(name = "flowc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check .flow files: every mistake, where it is, what to do; and each path's delivery guarantee.
    Check(flowc::commands::check::Args),
    /// Draw the dataflow graph (DOT or Mermaid) with stream types and delivery guarantees.
    Graph(flowc::commands::graph::Args),
    /// Explain a diagnostic code: what it means, a wrong example, the fix.
    Explain(flowc::commands::explain::Args),
    /// Run a .flow file: check it, then move events until the finite sources drain or SIGINT/SIGTERM.
    Run(flowc::commands::run::Args),
    /// Format .flow files in the one canonical layout (comments kept); `--check` only reports.
    Fmt(flowc::commands::fmt::Args),
    /// Run the `test` blocks of .flow files in memory: inputs in, expected events compared, a diff on failure.
    Test(flowc::commands::test::Args),
    /// Translate a Flume agent's properties file into a .flow file (notes for what does not carry over).
    Import(flowc::commands::import::Args),
    /// Serve the data directory over the Kafka protocol: Kafka clients produce, consume and join groups.
    Serve(flowc::commands::serve::Args),
    /// Show the per-node table of a running flowc (`flowc run --metrics`), redrawn every second.
    Top(flowc::ops::top::Args),
    /// Print sample events flowing out of a node of a running flowc (`flowc run --metrics`).
    Tap(flowc::ops::tap::Args),
    /// Language server over stdio
    Lsp,
    #[command(flatten)]
    Log(log_cli::LogCommand),
}

fn main() -> ExitCode {
    ignore_file_size_signal();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Check(args) => flowc::commands::check::run(&args),
        Command::Graph(args) => flowc::commands::graph::run(&args),
        Command::Explain(args) => flowc::commands::explain::run(&args),
        Command::Run(args) => flowc::commands::run::run(&args),
        Command::Fmt(args) => flowc::commands::fmt::run(&args),
        Command::Test(args) => flowc::commands::test::run(&args),
        Command::Import(args) => flowc::commands::import::run(&args),
        Command::Serve(args) => flowc::commands::serve::run(&args),
        Command::Top(args) => flowc::ops::top::run(&args),
        Command::Tap(args) => flowc::ops::tap::run(&args),
        Command::Lsp => flowc::lsp::run_stdio(),
        Command::Log(command) => log_cli::run(command),
    };
    ExitCode::from(code as u8)
}

/// Past a file size limit (`ulimit -f`, RLIMIT_FSIZE) the kernel sends SIGXFSZ, whose default action
/// kills the process with nothing flushed; ignored, the write fails with EFBIG instead, which the log
/// and the sinks answer like a full disk: nothing acknowledged, retried, resumed once there is room.
#[cfg(unix)]
#[allow(unsafe_code)]
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread exists touches no memory
    // and cannot fail for SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
fn ignore_file_size_signal() {}
