//! The Python the tests use: a project-local virtual environment under `target/`, made the first time
//! a test needs it from the pinned packages in `tests/python/<name>.txt`, reused while that file is
//! unchanged, and never the machine's global packages (no system or user site-packages).
//!
//! `FLOWC_TEST_PYTHON` picks the Python 3 the environment is made from (default `python3`). When it,
//! `venv` or the package index is missing, the test that asked fails with one sentence saying what
//! is missing and how to get it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A command running the tests' main environment's Python (`tests/python/requirements.txt`).
pub fn python() -> Command {
    python_env("requirements")
}

/// A command running the Python of the environment made from `tests/python/<name>.txt` (a second
/// environment holds packages that cannot share one, such as an older client library).
pub fn python_env(name: &str) -> Command {
    match environment(name) {
        Ok(python) => command(&python),
        Err(why) => fail(why),
    }
}

/// The environment's Python, made if needed, or the one-sentence reason it cannot be had. Threads of
/// one test binary share the answer; test binaries running at once wait on a file lock.
pub fn environment(name: &str) -> Result<PathBuf, String> {
    static MADE: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let made = made.get_or_insert_with(HashMap::new);
    if let Some(answer) = made.get(name) {
        return answer.clone();
    }
    let base = std::env::var("FLOWC_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let requirements = repo().join("tests/python").join(format!("{name}.txt"));
    let answer = prepare(&base, &requirements, &venvs_dir().join(name), &[]);
    made.insert(name.to_string(), answer.clone());
    answer
}

/// Makes (or reuses) the virtual environment `dir` from the Python `base` with the packages pinned in
/// `requirements`; `pip_env` is extra environment for pip (a test of this module points it at an
/// unreachable index). Returns the environment's Python.
pub fn prepare(base: &str, requirements: &Path, dir: &Path, pip_env: &[(&str, &str)]) -> Result<PathBuf, String> {
    let pins = fs::read_to_string(requirements).map_err(|e| {
        format!("the tests' Python packages are listed in {} but it cannot be read ({e})", requirements.display())
    })?;
    let python = dir.join("bin/python");
    // The stamp says what the environment was made of: the base Python and the pinned packages.
    let stamp = format!("base: {base}\n{pins}");
    let stamp_path = dir.join("flowc-made-from.txt");
    let ready = || python.exists() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp);
    if ready() {
        return Ok(python);
    }
    fs::create_dir_all(dir.parent().unwrap_or(dir)).map_err(|e| format!("cannot create {} ({e})", dir.display()))?;
    let lock_path = dir.with_extension("lock");
    let lock = fs::File::create(&lock_path).map_err(|e| format!("cannot create {} ({e})", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {} ({e})", lock_path.display()))?;
    if ready() {
        return Ok(python); // another test binary made it while this one waited
    }

    match Command::new(base).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "the tests need Python 3, but `{base} --version` failed ({}): install Python 3 with venv (Debian: `apt install python3 python3-venv`) or point FLOWC_TEST_PYTHON at one",
                last_line(&out.stderr)
            ))
        }
        Err(e) => {
            return Err(format!(
                "the tests need Python 3, but `{base}` cannot be run ({e}): install Python 3 with venv (Debian: `apt install python3 python3-venv`) or point FLOWC_TEST_PYTHON at one"
            ))
        }
    }
    let out = Command::new(base)
        .args(["-m", "venv", "--clear"])
        .arg(dir)
        .output()
        .map_err(|e| format!("`{base} -m venv` cannot be run ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "`{base} -m venv` cannot make the tests' Python environment ({}): install venv (Debian: `apt install python3-venv`) or point FLOWC_TEST_PYTHON at a Python 3 that has it",
            last_line(&out.stderr)
        ));
    }
    let mut pip = command(&python);
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "2", "-r"])
        .arg(requirements);
    for (key, value) in pip_env {
        pip.env(key, value);
    }
    let out = pip.output().map_err(|e| format!("the environment's pip cannot be run ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "pip could not install the tests' Python packages from {} ({}): the package index (PIP_INDEX_URL, by default pypi.org) must be reachable the first time the tests run",
            requirements.display(),
            last_line(&out.stderr)
        ));
    }
    fs::write(&stamp_path, &stamp).map_err(|e| format!("cannot write {} ({e})", stamp_path.display()))?;
    Ok(python)
}

/// Fails the calling test with the one sentence and no backtrace: `resume_unwind` skips the panic
/// hook (which would print one under `RUST_BACKTRACE`), and the test harness shows what was printed.
fn fail(why: String) -> ! {
    eprintln!("{why}");
    std::panic::resume_unwind(Box::new(why))
}

/// Where the environments live: `target/test-python/` beside the build.
pub fn venvs_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("test-python")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The environment's Python, kept from the user's own site-packages too.
fn command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.env("PYTHONNOUSERSITE", "1");
    cmd
}

/// The last non-empty line of a tool's error output: the line that says what went wrong.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message").to_string()
}
