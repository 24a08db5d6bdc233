//! Hot reload for `flowc run`: on SIGHUP (and, with `--watch`, when the file's contents change) the
//! file is checked again; with errors they are printed and the running pipeline goes on untouched;
//! otherwise the sources and sinks whose options changed and the transforms whose text changed are
//! swapped between two batches ([`flowc_runtime::exec::reload`]) and any other change is refused, saying what
//! changed.

use super::{load, use_color, Loaded};
use crate::render;
use flowc_compiler::graph::Program;
use flowc_compiler::{FileId, Severity};
use flowc_runtime::exec::reload::{compare, Change, Reloader};
use std::sync::Arc;
use std::time::Duration;

/// How often `--watch` looks at the file.
const WATCH_EVERY: Duration = Duration::from_millis(300);

/// The program running now, with the text it was checked from.
pub(crate) struct Running {
    pub(crate) program: Arc<Program>,
    pub(crate) text: String,
}

/// Reloads `path` on every SIGHUP (and on every change of its contents when `watch`), for the
/// whole run.
pub(crate) async fn reload_loop(
    path: String,
    mut running: Running,
    reloader: Reloader,
    mut hangups: tokio::signal::unix::Signal,
    watch: bool,
) {
    let mut seen = std::fs::read(&path).ok();
    loop {
        let trigger = tokio::select! {
            _ = hangups.recv() => "SIGHUP",
            contents = changed(&path, &seen), if watch => {
                seen = contents;
                "a change of the file"
            }
        };
        if let Some(next) = reload_once(&path, &running, &reloader, trigger).await {
            running = next;
        }
        if !watch {
            seen = std::fs::read(&path).ok();
        }
    }
}

/// Resolves with the file's new contents once they differ from `seen`.
async fn changed(path: &str, seen: &Option<Vec<u8>>) -> Option<Vec<u8>> {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = std::fs::read(path).ok();
        if now != *seen {
            return now;
        }
    }
}

/// One reload; the program that runs afterwards when it changed.
async fn reload_once(path: &str, running: &Running, reloader: &Reloader, trigger: &str) -> Option<Running> {
    let file = FileId(0);
    let text = match load(path, file) {
        Loaded::Text(text) => text,
        Loaded::Failed(message) => {
            tracing::warn!("reload on {trigger}: {message}; the running pipeline is unchanged");
            return None;
        }
        Loaded::NotUtf8(diag, lossy) => {
            eprint!("{}", render::human(&diag, path, &lossy, use_color(), 100));
            tracing::warn!("reload on {trigger}: {path} is not UTF-8; the running pipeline is unchanged");
            return None;
        }
    };
    let (program, diagnostics) = flowc_compiler::check(file, &text, flowc_stdlib::registry());
    let Some(program) = program else {
        for diag in &diagnostics {
            eprint!("{}", render::human(diag, path, &text, use_color(), 100));
        }
        let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        let s = if errors == 1 { "" } else { "s" };
        tracing::warn!("reload on {trigger}: {path} has {errors} error{s}; the running pipeline is unchanged");
        return None;
    };
    let program = Arc::new(program);
    match compare(&running.program, &running.text, &program, &text) {
        Change::Nothing => {
            tracing::info!("reload on {trigger}: nothing that runs changed");
            Some(Running { program, text })
        }
        Change::Refused(why) => {
            tracing::warn!(
                "reload on {trigger} refused: {why}; the running pipeline is unchanged (restart flowc to apply it)"
            );
            None
        }
        Change::Nodes(names) => {
            let connectors = &flowc_stdlib::connectors::Stdlib;
            match reloader.swap(&names, running.program.clone(), program.clone(), connectors).await {
                Ok(()) => {
                    tracing::info!("reload on {trigger}: swapping {}", names.join(", "));
                    Some(Running { program, text })
                }
                Err(why) => {
                    tracing::warn!("reload on {trigger} refused: {why}; the running pipeline is unchanged");
                    None
                }
            }
        }
    }
}
