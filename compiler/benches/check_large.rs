//! Benchmark: `check` on generated files of 1,000 to 10,000 declarations (target: 10,000 under 100 ms,
//! linear in size), beside parsing alone in the same run. Writes its table into BENCHMARKS.md.
//!
//! Run: `cargo bench -p flowc-compiler --bench check_large` (add `-- --no-write` to only print).

// A benchmark reports its numbers on standard output and its progress on standard error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamSig, ParamType, Registry, Role, StreamIn, StreamOut};
use flowc_compiler::FileId;
use std::time::{Duration, Instant};

const PARAMS: &[ParamSig] = &[
    ParamSig { name: "path", ty: ParamType::String, required: false, default: None, doc: "" },
    ParamSig {
        name: "capacity",
        ty: ParamType::Int { min: 1, max: i64::MAX },
        required: false,
        default: None,
        doc: "",
    },
];

const fn connector(kind: &'static str, role: Role) -> ConnectorSig {
    ConnectorSig {
        kind,
        role,
        summary: "",
        doc: "",
        params: PARAMS,
        guarantee: Guarantee::AtLeastOnce,
        guarantee_note: "",
        output: StreamOut::Lines,
        input: StreamIn::Any,
        flume: &[],
        weaker_when: &[],
        check: None,
    }
}

/// A registry of the same shape as the stdlib's (the compiler crate cannot depend on the stdlib).
static REGISTRY: Registry = Registry {
    connectors: &[connector("tail", Role::Source), connector("file", Role::Channel), connector("logger", Role::Sink)],
    topic_params: PARAMS,
    topic_flume: &[],
    formats: &[flowc_compiler::builtins::FormatSig {
        name: "json",
        summary: "",
        needs_pattern: false,
        fields: None,
        sometimes_absent: &[],
        params: &[],
    }],
    functions: &[],
    conflicts: &[],
};

/// A file with `n_decls` declarations: types, topics, sources, channels, sinks, and their pipelines.
fn generate(n_decls: usize) -> String {
    let mut out = String::new();
    let units = n_decls / 5;
    for i in 0..units {
        out.push_str(&format!(
            "/// Unit {i}.\ntype T{i} = {{ host: string, status: int, bytes: int }}\n\
             topic t{i}: T{i} {{ capacity = 3 }}\n\
             source s{i} = tail {{ path = \"logs/{i}.log\" }}\n\
             channel c{i} = file {{ capacity = 10_000 }}\n\
             sink k{i} = logger {{}}\n\
             s{i} | parse json as T{i} | where status >= 500 and bytes > 0 -> t{i}\n\
             t{i} -> group \"g\" -> c{i} -> k{i}\n"
        ));
    }
    out
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // `--once N`: check one file of N declarations once (for instruction counting under callgrind).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--once") {
        let n: usize = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        let source = generate(n);
        std::hint::black_box(flowc_compiler::check(FileId(0), &source, &REGISTRY));
        return;
    }
    let write = !std::env::args().any(|a| a == "--no-write");
    let mut rows = Vec::new();
    for n in [1_000, 2_500, 5_000, 10_000] {
        let source = generate(n);
        let (_, diags) = flowc_compiler::check(FileId(0), &source, &REGISTRY);
        assert!(diags.iter().all(|d| !d.is_error()), "generated file must check clean: {:?}", diags.first());
        let parse = time(7, || {
            std::hint::black_box(flowc_compiler::syntax::parse(FileId(0), &source));
        });
        let check = time(7, || {
            std::hint::black_box(flowc_compiler::check(FileId(0), &source, &REGISTRY));
        });
        rows.push((n, source.len(), parse, check));
    }
    let base_per_decl = rows[0].3.as_secs_f64() / rows[0].0 as f64;
    let mut table = String::from(
        "| declarations | bytes | parse only (ms) | check (ms) | check / parse | µs per declaration | vs 1,000 (per decl) |\n|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (n, bytes, parse, check) in &rows {
        let per_decl = check.as_secs_f64() / *n as f64;
        table.push_str(&format!(
            "| {n} | {bytes} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} |\n",
            parse.as_secs_f64() * 1e3,
            check.as_secs_f64() * 1e3,
            check.as_secs_f64() / parse.as_secs_f64(),
            per_decl * 1e6,
            per_decl / base_per_decl,
        ));
    }
    let ten_k = rows.last().unwrap().3;
    let verdict = if ten_k < Duration::from_millis(100) { "meets" } else { "misses" };
    let section = format!(
        "## Checker\n\n`cargo bench -p flowc-compiler --bench check_large` (release, median of 7). Each file mixes \
         types, typed topics, sources, channels, sinks, `parse`/`where` pipelines and consumer groups. \
         \"check / parse\" compares the whole check with parsing alone in the same run; \"vs 1,000\" is the cost per \
         declaration relative to the smallest file (1.0 = perfectly linear).\n\n{table}\n\
         10,000 declarations: {:.1} ms, which {verdict} the 100 ms target.\n",
        ten_k.as_secs_f64() * 1e3
    );
    print!("{section}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
        let current = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
        let (start, end) = ("<!-- check-bench:start -->", "<!-- check-bench:end -->");
        let block = format!("{start}\n{section}{end}");
        let updated = match (current.find(start), current.find(end)) {
            (Some(s), Some(e)) => format!("{}{block}{}", &current[..s], &current[e + end.len()..]),
            _ => format!("{}\n{block}\n", current.trim_end()),
        };
        std::fs::write(path, updated).expect("BENCHMARKS.md is writable");
    }
}
