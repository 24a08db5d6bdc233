//! The language commands: `check`, `graph`, `explain`, `run`, `test`.

pub mod check;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod import;
mod reload;
pub mod run;
pub mod serve;
pub mod test;

use flowc_compiler::FileId;

/// Exit code: the input is wrong (diagnostics).
pub const EXIT_INPUT: i32 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_USAGE: i32 = 2;

/// Reads a `.flow` file: its text, or an I/O error message, or an E0109 diagnostic for bad bytes.
pub(crate) enum Loaded {
    Text(String),
    NotUtf8(flowc_compiler::Diagnostic, String),
    Failed(String),
}

pub(crate) fn load(path: &str, file: FileId) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return Loaded::Failed(format!("error: cannot read {path}: {err}")),
    };
    match flowc_compiler::syntax::decode(file, &bytes) {
        Ok(text) => Loaded::Text(text.to_string()),
        Err(diag) => Loaded::NotUtf8(diag, String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Whether stderr is a terminal that wants colour.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Writes to stdout; a closed pipe (`flowc check … | head`) is not an error worth a panic.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Caps glibc's malloc at two arenas before any runtime thread starts. By default every thread gets
/// its own arena up to eight per core; tokio moves tasks between threads (a blocking write hands its
/// worker to a new thread), so each arena grew to the size of a few batches and kept it: peak RSS
/// through a `file` channel was about 110 MiB, with two arenas about 80 MiB (60 MiB with the channel
/// reading each take into one string column), at the same throughput
/// (BENCHMARKS.md, "flowc run"). `flowc serve` likewise: its Fetch buffers (about 1 MiB per partition)
/// are filled on blocking threads and freed on workers, and its peak RSS after a few consumers
/// went from 65 to 48 MiB ("flowc serve"). Other C libraries (musl) have no arenas and need nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn limit_malloc_arenas() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called before the runtime's threads
    // exist, and a refusal (return value 0) leaves the default in place, which is still correct.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn limit_malloc_arenas() {}
