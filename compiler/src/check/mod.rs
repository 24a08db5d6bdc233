//! Semantic checking: names, options, types along edges, graph structure, delivery guarantees.

mod build;
mod delivery;
mod errors;
mod exprs;
mod graph_checks;
mod hooks;
mod names;
mod options;
mod streams;
mod template;
mod testing;

use crate::ast;
use crate::builtins::Registry;
use crate::diagnostic::{self, Diagnostic};
use crate::graph::Program;
use crate::span::FileId;
use crate::syntax;

/// Everything the checker found out about one file, even when it has errors (for editors).
#[derive(Debug, Clone)]
pub struct Analysis {
    pub ast: ast::File,
    /// The graph as far as it could be built; complete only when there are no errors.
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks one file: the program when it has no errors, and every diagnostic, sorted by position.
pub fn check(file: FileId, source: &str, registry: &Registry) -> (Option<Program>, Vec<Diagnostic>) {
    let analysis = analyze(file, source, registry);
    let program = (!analysis.has_errors()).then_some(analysis.program);
    (program, analysis.diagnostics)
}

/// Checks one file and keeps everything found on the way.
pub fn analyze(file: FileId, source: &str, registry: &Registry) -> Analysis {
    let (ast, mut diagnostics) = syntax::parse(file, source);
    let mut ctx = Ctx { registry, diags: Vec::new() };
    let mut scope = names::collect(&mut ctx, &ast);
    let mut builder = build::Builder::new();
    // Statements that did not parse were reported once; what they name is not reported again.
    builder.broken.extend(scope.broken.iter().cloned());
    builder.excused.extend(ast.broken.iter().flat_map(|b| b.mentions.iter().map(|i| i.name.clone())));
    builder.declare(&mut ctx, &mut scope, &ast);
    for item in &ast.items {
        if let ast::Item::Flow(stmt) = item {
            builder.flow(&mut ctx, &scope, stmt);
        }
    }
    let order = graph_checks::order(&mut ctx, &builder);
    if let Some(order) = &order {
        streams::propagate(&mut ctx, &mut scope, &mut builder, order);
    }
    graph_checks::structure(&mut ctx, &scope, &builder, &ast);
    hooks::run(&mut ctx, &builder);
    let paths = if order.is_some() { delivery::paths(&builder.graph) } else { Vec::new() };
    let tests = testing::check(&mut ctx, &builder.graph, &ast, &ast, file);
    let graph = builder.graph;
    diagnostics.append(&mut ctx.diags);
    for diag in &mut diagnostics {
        diag.file = file;
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Analysis { ast, program: Program { graph, paths, tests }, diagnostics }
}

/// A tests-only file (`tests "pipeline.flow"` and test blocks) checked against its pipeline.
#[derive(Debug, Clone)]
pub struct TestsAnalysis {
    /// The pipeline file's analysis; its program's `tests` are the tests file's (when both are
    /// free of errors), not the pipeline's own.
    pub pipeline: Analysis,
    pub ast: ast::File,
    /// The tests file's own diagnostics (the pipeline's are in `pipeline`).
    pub diagnostics: Vec<Diagnostic>,
}

impl TestsAnalysis {
    pub fn has_errors(&self) -> bool {
        self.pipeline.has_errors() || self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks the tests file `tests` against the pipeline file it names, both given as text (the
/// caller reads them; nothing here touches a file).
pub fn analyze_tests(pipeline: (FileId, &str), tests: (FileId, &str), registry: &Registry) -> TestsAnalysis {
    let mut analysis = analyze(pipeline.0, pipeline.1, registry);
    let (ast, mut diagnostics) = syntax::parse(tests.0, tests.1);
    let mut ctx = Ctx { registry, diags: Vec::new() };
    analysis.program.tests = testing::check(&mut ctx, &analysis.program.graph, &analysis.ast, &ast, tests.0);
    diagnostics.append(&mut ctx.diags);
    for diag in &mut diagnostics {
        diag.file = tests.0;
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    TestsAnalysis { pipeline: analysis, ast, diagnostics }
}

/// Shared state of one check: the registry and the diagnostics found so far.
pub(crate) struct Ctx<'r> {
    pub(crate) registry: &'r Registry,
    pub(crate) diags: Vec<Diagnostic>,
}
