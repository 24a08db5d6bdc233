//! `exec`: Flume's exec source. Runs `command` (split on white space, or given to `shell` as one
//! argument) in the `.flow` file's directory and turns each line of its standard output into an
//! event. A partial batch is handed on after `batch_timeout`. When the command exits the source ends,
//! or with `restart = true` starts it again after `restart_throttle`. On shutdown the command is
//! killed and what it printed is delivered. Best effort: a command cannot replay what it printed.

use crate::catalogue::{batch_size, optional, required, unset};
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeSpec, RunError, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// Flume's exec source: run a command, one event per line of its output.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Exec::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "exec",
    role: Role::Source,
    summary: "Run a command and turn each line of its standard output into an event.",
    doc: "Starts `command` (split on whitespace, or passed to `shell` as one argument) and reads its standard \
output line by line. A command has no position to resume from: lines it printed but that were not yet \
committed when flowc crashes are lost, and a restarted `tail -F` prints its last lines again. Prefer \
`tail` for log files and `spooldir` for finished files; `check` warns when `exec` feeds a path. With \
`restart = true` the command is started again `restart_throttle` after it exits.",
    params: &[
        required("command", ParamType::String, "The command to run, e.g. `\"tail -F /var/log/app.log\"`."),
        unset(
            "shell",
            ParamType::String,
            "Run `command` through this shell, e.g. `\"/bin/sh -c\"` (pipes, globs, variables); default: no shell.",
        ),
        optional(
            "restart",
            ParamType::Bool,
            "false",
            "Start the command again when it exits; without it, the source ends when the command does.",
        ),
        optional("restart_throttle", ParamType::Duration, "10s", "How long to wait before restarting the command."),
        optional(
            "log_stderr",
            ParamType::Bool,
            "false",
            "Log the command's standard error lines (they never become events).",
        ),
        batch_size("20"),
        optional(
            "batch_timeout",
            ParamType::Duration,
            "3s",
            "Hand a partial batch to the channel after this long without filling it.",
        ),
    ],
    guarantee: Guarantee::BestEffort,
    guarantee_note: "a crash or restart loses or repeats lines; exec cannot replay",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "exec",
    check: None,
    weaker_when: &[],
};

pub(crate) struct Exec {
    program: String,
    args: Vec<String>,
    dir: PathBuf,
    restart: bool,
    restart_throttle: Duration,
    log_stderr: bool,
    batch_size: usize,
    batch_timeout: Duration,
}

impl Exec {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Exec, RunError> {
        let o = &spec.options;
        let command = o.string("command")?.ok_or_else(|| RunError::config("`command` is required"))?;
        let (program, args) = match o.string("shell")? {
            Some(shell) => {
                let mut words = shell.split_whitespace().map(str::to_string);
                let program = words.next().ok_or_else(|| RunError::config("`shell` is empty"))?;
                let mut args: Vec<String> = words.collect();
                args.push(command);
                (program, args)
            }
            None => {
                let mut words = command.split_whitespace().map(str::to_string);
                let program = words.next().ok_or_else(|| RunError::config("`command` is empty"))?;
                (program, words.collect())
            }
        };
        Ok(Exec {
            program,
            args,
            dir: spec.base_dir.to_path_buf(),
            restart: o.bool_or_default("restart")?,
            restart_throttle: o.duration_or_default("restart_throttle")?,
            log_stderr: o.bool_or_default("log_stderr")?,
            batch_size: super::batch_size(spec)?,
            batch_timeout: o.duration_or_default("batch_timeout")?,
        })
    }

    /// Runs the command once; `Ok(false)` when the run is stopping or the pipeline is gone.
    async fn run_once(&self, ctx: &SourceContext) -> Result<bool, RunError> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.log_stderr { Stdio::piped() } else { Stdio::null() })
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RunError::io(format!("cannot start `{}`: {e}", self.program)))?;
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(log_lines(stderr, ctx.name.clone()));
        }
        let stdout = child.stdout.take().ok_or_else(|| RunError::internal("no stdout pipe"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut batch: Vec<String> = Vec::with_capacity(self.batch_size);
        let mut shutdown = ctx.shutdown.clone();
        let mut deadline: Option<tokio::time::Instant> = None;
        let go_on = loop {
            let timeout = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.wait() => break false,
                _ = timeout => {
                    if !self.flush(&mut batch, ctx).await {
                        break false;
                    }
                    deadline = None;
                }
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        batch.push(line);
                        deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.batch_timeout);
                        if batch.len() >= self.batch_size {
                            if !self.flush(&mut batch, ctx).await {
                                break false;
                            }
                            deadline = None;
                        }
                    }
                    Ok(None) => break true,
                    Err(err) => {
                        tracing::warn!("{}: reading `{}`: {err}", ctx.name, self.program);
                        ctx.metrics.add_errors(1);
                        break true;
                    }
                },
            }
        };
        // Lines already read are delivered even when stopping.
        let delivered = self.flush(&mut batch, ctx).await;
        let _ = child.start_kill();
        let _ = child.wait().await;
        Ok(go_on && delivered)
    }

    async fn flush(&self, batch: &mut Vec<String>, ctx: &SourceContext) -> bool {
        if batch.is_empty() {
            return true;
        }
        let b = lines_batch(batch);
        batch.clear();
        ctx.output.send(b, Ack::none()).await.is_ok()
    }
}

async fn log_lines(stream: impl AsyncRead + Unpin, name: String) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!("{name}: stderr: {line}");
    }
}

impl Source for Exec {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            loop {
                if !self.run_once(&ctx).await? || !self.restart || ctx.shutdown.is_set() {
                    return Ok(());
                }
                let mut shutdown = ctx.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(self.restart_throttle) => {}
                    _ = shutdown.wait() => return Ok(()),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_compiler::graph::{OptionMap, OptionValue};

    #[test]
    fn unwritten_options_take_the_signature_defaults() {
        let options = OptionMap::from([("command".to_string(), OptionValue::Str("true".into()))]);
        let dir = std::env::temp_dir();
        let exec = Exec::new(&crate::connectors::test_spec(&CONNECTOR.sig, &options, &dir)).unwrap();
        // The signature says 20; the builder once fell back to 100.
        assert_eq!(exec.batch_size, 20);
        assert_eq!(exec.batch_timeout, Duration::from_secs(3));
        assert!(!exec.restart);
    }
}
