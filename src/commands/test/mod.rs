//! `flowc test FILE...`: the `test` blocks of each file (or of a tests-only file, against the
//! pipeline file it names) checked, run in memory, and reported with a diff; exit 1 on a failure.

mod diff;

use super::{load, use_color, Loaded, EXIT_INPUT, EXIT_USAGE};
use crate::render;
use flowc_compiler::graph::{Program, TestCase};
use flowc_compiler::{codes, Diagnostic, FileId};
use flowc_runtime::exec::testing::run_test;
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.flow` files whose tests to run: pipelines with `test` blocks, or tests-only files
    /// (`tests "pipeline.flow"` at the top).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// A file's text and the path it is reported under.
pub(crate) struct Source {
    pub(crate) path: String,
    pub(crate) text: String,
}

/// A file checked for `flowc test` or `flowc check`: its diagnostics (each with the file it is
/// in), the sources they point into, and the program with its tests when there are no errors.
pub(crate) struct Checked {
    pub(crate) sources: Vec<Source>,
    /// `(index into sources, diagnostic)`.
    pub(crate) diagnostics: Vec<(usize, Diagnostic)>,
    pub(crate) program: Option<Program>,
}

/// The pipeline file a tests-only file names, relative to the tests file's directory.
pub(crate) fn named_pipeline(path: &str, text: &str) -> Option<String> {
    let (ast, _) = flowc_compiler::syntax::parse(FileId(0), text);
    let header = ast.items.iter().find_map(|i| match i {
        flowc_compiler::ast::Item::Tests(decl) => Some(decl.path.clone()),
        _ => None,
    })?;
    let dir = std::path::Path::new(path).parent().unwrap_or(std::path::Path::new(""));
    Some(dir.join(header).to_string_lossy().into_owned())
}

/// Reads and checks `path` (and the pipeline it names, if it is a tests-only file). `Err` is an
/// I/O error's message.
pub(crate) fn check_file(path: &str, id: u32) -> Result<Checked, String> {
    let registry = flowc_stdlib::registry();
    let file = FileId(id * 2);
    let text = match load(path, file) {
        Loaded::Failed(message) => return Err(message),
        Loaded::NotUtf8(diag, lossy) => {
            let sources = vec![Source { path: path.to_string(), text: lossy }];
            return Ok(Checked { sources, diagnostics: vec![(0, diag)], program: None });
        }
        Loaded::Text(text) => text,
    };
    let Some(pipeline_path) = named_pipeline(path, &text) else {
        let analysis = flowc_compiler::analyze(file, &text, registry);
        let failed = analysis.has_errors();
        let diagnostics = analysis.diagnostics.into_iter().map(|d| (0, d)).collect();
        let sources = vec![Source { path: path.to_string(), text }];
        let program = (!failed).then_some(analysis.program);
        return Ok(Checked { sources, diagnostics, program });
    };
    let pipeline_file = FileId(id * 2 + 1);
    let pipeline_text = match load(&pipeline_path, pipeline_file) {
        Loaded::Text(text) => text,
        Loaded::Failed(message) => return Err(format!("{message} (named by {path})")),
        Loaded::NotUtf8(diag, lossy) => {
            let sources = vec![Source { path: path.to_string(), text }, Source { path: pipeline_path, text: lossy }];
            return Ok(Checked { sources, diagnostics: vec![(1, diag)], program: None });
        }
    };
    let analysis = flowc_compiler::analyze_tests((pipeline_file, &pipeline_text), (file, &text), registry);
    let failed = analysis.has_errors();
    let mut diagnostics: Vec<(usize, Diagnostic)> = analysis.diagnostics.into_iter().map(|d| (0, d)).collect();
    diagnostics.extend(analysis.pipeline.diagnostics.into_iter().map(|d| (1, d)));
    let sources = vec![Source { path: path.to_string(), text }, Source { path: pipeline_path, text: pipeline_text }];
    let program = (!failed).then_some(analysis.pipeline.program);
    Ok(Checked { sources, diagnostics, program })
}

/// How the tests went, over every file.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    errors: usize,
    /// A file that could not be read, or a test that could not run.
    usage: bool,
    /// A file with errors: its tests did not run.
    input: bool,
}

pub fn run(args: &Args) -> i32 {
    let color = use_color();
    let mut tally = Tally::default();
    let mut failures = String::new();
    for (i, path) in args.files.iter().enumerate() {
        let loaded = match check_file(path, i as u32) {
            Ok(loaded) => loaded,
            Err(message) => {
                eprintln!("{message}");
                tally.usage = true;
                continue;
            }
        };
        // The pipeline's own warnings are `check`'s to report; a test's warning is shown here.
        let shown = loaded.diagnostics.iter().filter(|(_, d)| d.is_error() || d.code == codes::W0010.as_str());
        for (at, diag) in shown {
            let source = &loaded.sources[*at];
            eprint!("{}", render::human(diag, &source.path, &source.text, color, 100));
        }
        let Some(program) = &loaded.program else {
            let errors = loaded.diagnostics.iter().filter(|(_, d)| d.is_error()).count();
            eprintln!("flowc test: {path} has {errors} error{}; its tests did not run", plural(errors));
            tally.input = true;
            continue;
        };
        let text = &loaded.sources[0].text;
        let n = program.tests.len();
        super::out(&format!("\nrunning {n} test{} from {path}\n", plural(n)));
        for case in &program.tests {
            run_one(program, case, path, text, &mut tally, &mut failures);
        }
    }
    let total = tally.passed + tally.failed + tally.errors;
    if !failures.is_empty() {
        super::out(&format!("\nfailures:\n{failures}"));
    }
    if total == 0 && !tally.usage && !tally.input {
        eprintln!("flowc test: no tests in {}", args.files.join(", "));
        return EXIT_INPUT;
    }
    let verdict = if tally.failed + tally.errors == 0 && !tally.usage && !tally.input { "ok" } else { "FAILED" };
    super::out(&format!(
        "\ntest result: {verdict}. {} passed; {} failed; {} could not run\n",
        tally.passed, tally.failed, tally.errors
    ));
    if tally.usage || tally.errors > 0 {
        EXIT_USAGE
    } else if tally.input || tally.failed > 0 {
        EXIT_INPUT
    } else {
        0
    }
}

fn run_one(program: &Program, case: &TestCase, path: &str, text: &str, tally: &mut Tally, failures: &mut String) {
    let (line, _) = flowc_compiler::span::line_col(text, case.span.start);
    let header = format!("\n---- {} ({path}:{line}) ----\n", case.name);
    match run_test(program, case) {
        Ok(observed) => {
            let report = diff::report(&observed);
            if report.is_empty() {
                tally.passed += 1;
                super::out(&format!("test {} ... ok\n", case.name));
            } else {
                tally.failed += 1;
                super::out(&format!("test {} ... FAILED\n", case.name));
                let _ = write!(failures, "{header}{report}");
            }
        }
        Err(err) => {
            tally.errors += 1;
            super::out(&format!("test {} ... ERROR\n", case.name));
            let _ = writeln!(failures, "{header}error: {err}");
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
