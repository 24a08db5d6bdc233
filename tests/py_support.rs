//! The tests' Python set-up itself: it makes an isolated environment from the pinned packages, and when
//! Python or the package index cannot be had, the test that needs them fails with one sentence.

mod py_common;

use std::path::Path;

fn requirements(dir: &Path, pins: &str) -> std::path::PathBuf {
    let path = dir.join("requirements.txt");
    std::fs::write(&path, pins).unwrap();
    path
}

fn one_sentence(why: &str) {
    assert!(!why.contains('\n'), "the reason is one line: {why:?}");
    assert!(!why.contains("panicked"), "{why}");
}

#[test]
fn a_missing_python_is_named_with_how_to_get_one() {
    let scratch = tempfile::tempdir().unwrap();
    let pins = requirements(scratch.path(), "six==1.16.0\n");
    let why = py_common::prepare("/nonexistent/python3", &pins, &scratch.path().join("venv"), &[]).unwrap_err();
    one_sentence(&why);
    assert!(why.contains("/nonexistent/python3"), "{why}");
    assert!(why.contains("FLOWC_TEST_PYTHON") && why.contains("python3-venv"), "{why}");
    assert!(!scratch.path().join("venv").exists(), "nothing half-made is left: {why}");
}

#[test]
fn an_unreachable_package_index_is_named_and_nothing_is_reused() {
    let scratch = tempfile::tempdir().unwrap();
    let pins = requirements(scratch.path(), "six==1.16.0\n");
    let venv = scratch.path().join("venv");
    // Port 9 on loopback refuses at once; no wheel directory or cache may stand in for the index.
    let unreachable = [
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple"),
        ("PIP_FIND_LINKS", scratch.path().to_str().unwrap()),
        ("PIP_NO_CACHE_DIR", "1"),
    ];
    let why = py_common::prepare("python3", &pins, &venv, &unreachable).unwrap_err();
    one_sentence(&why);
    assert!(why.contains("package index") && why.contains("PIP_INDEX_URL"), "{why}");
    assert!(why.contains("requirements.txt"), "{why}");
    // The failed environment is not taken as made: the next attempt tries the index again.
    let again = py_common::prepare("python3", &pins, &venv, &unreachable).unwrap_err();
    assert!(again.contains("package index"), "{again}");
}

#[test]
fn the_environment_has_the_pinned_packages_and_none_of_the_machines() {
    let out = py_common::python()
        .arg("-c")
        .arg(
            "import sys, site, pyarrow, moto\n\
             print(sys.prefix != sys.base_prefix, site.ENABLE_USER_SITE, pyarrow.__version__)\n\
             print(*[p for p in sys.path if 'site-packages' in p and not p.startswith(sys.prefix)])",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("True False 18.1.0"), "a virtual environment, no user site, pyarrow as pinned");
    assert_eq!(lines.next(), Some(""), "no site-packages from outside the environment on sys.path");
    let python = py_common::environment("requirements").unwrap();
    assert!(python.starts_with(py_common::venvs_dir()), "{} is under target/", python.display());
    let cfg = std::fs::read_to_string(python.parent().unwrap().parent().unwrap().join("pyvenv.cfg")).unwrap();
    assert!(cfg.contains("include-system-site-packages = false"), "{cfg}");
}
