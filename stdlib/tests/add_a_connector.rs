//! The recipe of ARCHITECTURE.md's "How to add a connector", followed to the letter: the connector
//! below is the one the recipe shows (the test checks the text is the same), registered beside the
//! stdlib's, checked and run in a pipeline.

use flowc_compiler::builtins::Registry;
use flowc_compiler::graph::OptionMap;
use flowc_compiler::FileId;
use flowc_runtime::exec::{self, Connectors};
use flowc_stdlib::connectors::CONNECTORS;

// recipe: begin
// stdlib/src/connectors/greeting.rs (after its `//!` line)

use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, Built, Connector, NodeSpec, RunError, Source, SourceContext};
use flowc_stdlib::catalogue::{int_from, optional}; // inside the stdlib: crate::catalogue

/// The `greeting` source.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Greeting::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "greeting",
    role: Role::Source,
    summary: "Emit a greeting a few times.",
    doc: "Emits `count` lines of `text`, then ends.",
    params: &[
        optional("text", ParamType::String, "\"hello\"", "The line to emit."),
        optional("count", int_from(1), "3", "How many times."),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "the same lines come again after a crash",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "",
    check: None,
    weaker_when: &[],
};

struct Greeting {
    lines: Vec<String>,
}

impl Greeting {
    fn new(spec: &NodeSpec<'_>) -> Result<Greeting, RunError> {
        let text = spec.options.string_or_default("text")?;
        let count = spec.options.int_or_default("count")?;
        Ok(Greeting { lines: vec![text; count as usize] })
    }
}

impl Source for Greeting {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let _ = ctx.output.send(lines_batch(&self.lines), Ack::none()).await;
            Ok(())
        })
    }
}
// recipe: end

/// The stdlib's connectors and the new one, registered the way `stdlib/src/connectors/mod.rs` does.
struct WithGreeting(Vec<Connector>);

impl Connectors for WithGreeting {
    fn connector(&self, sig: &ConnectorSig) -> Option<&Connector> {
        self.0.iter().find(|c| c.sig.role == sig.role && c.sig.kind == sig.kind)
    }
    fn topic_params(&self) -> &'static [flowc_compiler::builtins::ParamSig] {
        flowc_stdlib::registry().topic_params
    }
}

fn with_greeting() -> (WithGreeting, &'static Registry) {
    let connectors: Vec<Connector> = CONNECTORS.iter().copied().chain([CONNECTOR]).collect();
    let sigs: &'static [ConnectorSig] = Vec::leak(connectors.iter().map(|c| c.sig).collect());
    let registry = Box::leak(Box::new(Registry { connectors: sigs, ..*flowc_stdlib::registry() }));
    (WithGreeting(connectors), registry)
}

#[test]
fn the_recipe_connector_checks_and_runs() {
    let (connectors, registry) = with_greeting();
    let source = "source g = greeting { text = \"hi\", count = 4 }\nsink s = null {}\ng -> s\n";
    let (program, diagnostics) = flowc_compiler::check(FileId(0), source, registry);
    let program = program.unwrap_or_else(|| panic!("{diagnostics:?}"));
    // An unknown option is reported against the new signature like any other.
    let (_, wrong) =
        flowc_compiler::check(FileId(0), "source g = greeting { txt = \"a\" }\nsink s = null {}\ng -> s\n", registry);
    assert!(wrong.iter().any(|d| d.code == "E0302" && d.help.as_deref() == Some("did you mean `text`?")), "{wrong:?}");

    let dir = tempfile::tempdir().unwrap();
    let plan = exec::plan(&program, &connectors, dir.path(), dir.path()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let report = runtime.block_on(plan.run(std::future::pending()));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let node = |name: &str| report.nodes.iter().find(|n| n.name == name).unwrap().clone();
    assert_eq!(node("g").what, "source greeting");
    assert_eq!(node("g").events_out, 4);
    assert_eq!(node("s").events_in, 4);
}

#[test]
fn defaults_come_from_the_signature() {
    let options = OptionMap::new();
    let dir = std::env::temp_dir();
    let spec = NodeSpec {
        name: "g",
        connector: &SIG,
        options: exec::Opts::new("g", &options, SIG.params),
        input: None,
        output: None,
        base_dir: &dir,
        data_dir: &dir,
    };
    assert_eq!(Greeting::new(&spec).unwrap().lines, vec!["hello"; 3]);
}

#[test]
fn architecture_shows_this_recipe() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let this = include_str!("add_a_connector.rs");
    let recipe = this.split("// recipe: begin\n").nth(1).and_then(|r| r.split("// recipe: end").next()).unwrap();
    let section =
        architecture.split("## How to add a connector").nth(1).expect("ARCHITECTURE.md has the recipe section");
    let shown = section.split("```rust\n").nth(1).and_then(|b| b.split("```").next()).expect("a rust block");
    assert_eq!(shown, recipe, "ARCHITECTURE.md's recipe and stdlib/tests/add_a_connector.rs differ");
    // The registration the recipe names is where the stdlib's connectors are listed.
    let list = std::fs::read_to_string(root.join("stdlib/src/connectors/mod.rs")).unwrap();
    assert!(list.contains("pub const CONNECTORS: &[Connector] = &[\n    spooldir::CONNECTOR,"));
    assert!(section.contains("CONNECTORS") && section.contains("stdlib/src/connectors/mod.rs"));
}
