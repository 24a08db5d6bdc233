//! `flowc run FILE`: check the file, build its graph into tasks and run them until the finite sources
//! have drained, or SIGINT/SIGTERM stops the sources and what is in flight has drained.

use super::{load, use_color, Loaded, EXIT_INPUT, EXIT_USAGE};
use crate::console::{self, Stats};
use crate::render;
use flowc_compiler::{FileId, Severity};
use flowc_runtime::exec::{self, ErrorKind, RunReport};
use std::io::IsTerminal;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.flow` file to run.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The embedded log's data directory, where the file's topics live (as for `flowc topic`).
    #[arg(long = "data-dir", env = "FLOWC_DATA_DIR", default_value = ".flow", value_name = "DIR")]
    pub data_dir: std::path::PathBuf,
    /// Progress while running: `live` redraws a table of per-node rates on standard error, `log`
    /// logs a line per node every `--stats-interval`; `auto` is `live` on a terminal, else `log`.
    #[arg(long, value_enum, default_value = "auto", value_name = "HOW")]
    pub stats: StatsArg,
    /// How often `--stats log` logs the counters, e.g. `10s`, `500ms`, `1m`.
    #[arg(long = "stats-interval", default_value = "10s", value_parser = parse_interval, value_name = "DURATION")]
    pub stats_interval: std::time::Duration,
    /// Serve Prometheus metrics on `/metrics` and health on `/health` at this address (default
    /// 127.0.0.1:9100 when given without one; port 0 picks a free one, logged at start); `flowc top`
    /// and `flowc tap` read it.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = crate::ops::DEFAULT_ADDRESS)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Reload the file whenever its contents change, as on SIGHUP: checked first (with errors the
    /// running pipeline goes on untouched), then sinks whose options changed are swapped live.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsArg {
    Auto,
    Live,
    Log,
    Off,
}

/// `500ms`, `10s`, `1m`: a positive duration.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("`{text}` is not a duration like 10s, 500ms or 1m"))?;
    let ms = match unit {
        "ms" => n,
        "s" | "" => n * 1000,
        "m" => n * 60_000,
        _ => return Err(format!("`{unit}` is not a unit: use ms, s or m")),
    };
    if ms == 0 {
        return Err("the interval must be more than zero".into());
    }
    Ok(std::time::Duration::from_millis(ms))
}

pub fn run(args: &Args) -> i32 {
    let path = &args.file;
    let file = FileId(0);
    let source = match load(path, file) {
        Loaded::Failed(message) => {
            eprintln!("{message}");
            return EXIT_USAGE;
        }
        Loaded::NotUtf8(diag, lossy) => {
            eprint!("{}", render::human(&diag, path, &lossy, use_color(), 100));
            return EXIT_INPUT;
        }
        Loaded::Text(text) => text,
    };
    let (program, diagnostics) = flowc_compiler::check(file, &source, flowc_stdlib::registry());
    let color = use_color();
    for diag in &diagnostics {
        eprint!("{}", render::human(diag, path, &source, color, 100));
    }
    let Some(program) = program else {
        let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        eprintln!("flowc run: {path} has {errors} error{}; nothing ran", if errors == 1 { "" } else { "s" });
        return EXIT_INPUT;
    };
    // Relative paths in options are relative to the `.flow` file.
    let base = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    super::limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Never fewer than two workers: signals are still handled while a sink waits on a slow pipe.
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return EXIT_USAGE;
        }
    };
    let stats = match args.stats {
        StatsArg::Live => Stats::Live,
        StatsArg::Auto if std::io::stderr().is_terminal() => Stats::Live,
        StatsArg::Auto | StatsArg::Log => Stats::Log(args.stats_interval),
        StatsArg::Off => Stats::Off,
    };
    console::init_tracing(stats == Stats::Live);
    // Signal handlers before anything else: a connector that announces itself while the plan is
    // built (netcat's address) can be stopped at once, and still drains.
    let entered = runtime.enter();
    let mut signals = match exec::signals() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("error: cannot install signal handlers: {err}");
            return EXIT_USAGE;
        }
    };
    // SIGHUP reloads the file instead of ending the process.
    let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(err) => {
            eprintln!("error: cannot install signal handlers: {err}");
            return EXIT_USAGE;
        }
    };
    let plan = match exec::plan(&program, &flowc_stdlib::connectors::Stdlib, base, &args.data_dir) {
        Ok(plan) => plan,
        Err(err) => {
            let why = if err.kind == ErrorKind::Unsupported { "flowc run" } else { "error" };
            eprintln!("{why}: {err}");
            return EXIT_USAGE;
        }
    };
    let nodes = plan.nodes();
    let running = super::reload::Running { program: std::sync::Arc::new(program), text: source };
    let reload = super::reload::reload_loop(path.clone(), running, plan.reloader(), hangups, args.watch);
    if let Some(address) = args.metrics {
        if let Err(err) = runtime.block_on(crate::ops::start(address, nodes.clone())) {
            eprintln!("error: cannot serve metrics on {address}: {err}");
            return EXIT_USAGE;
        }
    }
    let report = runtime.block_on(async move {
        tokio::spawn(console::watch(nodes, stats));
        tokio::spawn(reload);
        // The first signal stops the sources and drains; a second one, while draining, exits at once.
        let (stopping, stopped) = tokio::sync::oneshot::channel::<exec::Signals>();
        let stop = async move {
            let name = signals.next().await;
            tracing::warn!("{name}: stopping the sources and draining what is in flight (again to exit at once)");
            let _ = stopping.send(signals);
            name
        };
        tokio::spawn(async move {
            if let Ok(mut signals) = stopped.await {
                let name = signals.next().await;
                tracing::warn!("{name} again: exiting without draining");
                std::process::exit(130);
            }
        });
        plan.run(stop).await
    });
    // Threads blocked reading standard input must not keep the process alive.
    drop(entered);
    runtime.shutdown_background();
    console::finish();
    summarize(&report)
}

/// One line per node on standard error; the exit code.
fn summarize(report: &RunReport) -> i32 {
    let width = report.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
    let what = report.nodes.iter().map(|n| n.what.len()).max().unwrap_or(0);
    for node in &report.nodes {
        eprintln!(
            "  {:width$}  {:what$}  in {:>9}  out {:>9}  errors {}",
            node.name, node.what, node.events_in, node.events_out, node.errors
        );
    }
    for err in &report.errors {
        eprintln!("error: {err}");
    }
    let how = match report.stopped_by {
        Some(signal) => format!("stopped by {signal}, in-flight events drained"),
        None => "every source ended and its events drained".to_string(),
    };
    if report.errors.is_empty() {
        eprintln!("flowc run: {how}");
        0
    } else {
        eprintln!(
            "flowc run: failed ({} error{})",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        );
        EXIT_USAGE
    }
}
