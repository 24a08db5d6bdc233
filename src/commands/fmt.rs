//! `flowc fmt [--check] FILE...`: rewrite `.flow` files in the one canonical layout, comments kept.
//!
//! The layout is `flowc_compiler::format`'s; a file with syntax errors is left alone and its errors are
//! printed. `--check` rewrites nothing: it names the files that would change and exits 1 if any would.

use super::{load, use_color, Loaded, EXIT_INPUT, EXIT_USAGE};
use crate::render;
use flowc_compiler::FileId;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.flow` files to format (rewritten in place); `-` formats standard input to standard output.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Change nothing: list the files that are not formatted and exit 1 if there is any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &Args) -> i32 {
    let color = use_color();
    let mut io_failed = false;
    let mut input_failed = false;
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for (i, path) in args.files.iter().enumerate() {
        let file = FileId(i as u32);
        let loaded = if path == "-" {
            let mut bytes = Vec::new();
            match std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes) {
                Ok(_) => match flowc_compiler::syntax::decode(file, &bytes) {
                    Ok(text) => Loaded::Text(text.to_string()),
                    Err(diag) => Loaded::NotUtf8(diag, String::from_utf8_lossy(&bytes).into_owned()),
                },
                Err(err) => Loaded::Failed(format!("error: cannot read standard input: {err}")),
            }
        } else {
            load(path, file)
        };
        let source = match loaded {
            Loaded::Failed(message) => {
                let _ = writeln!(stderr, "{message}");
                io_failed = true;
                continue;
            }
            Loaded::NotUtf8(diag, lossy) => {
                let _ = write!(stderr, "{}", render::human(&diag, path, &lossy, color, 100));
                input_failed = true;
                continue;
            }
            Loaded::Text(text) => text,
        };
        let formatted = match flowc_compiler::format::format(&source) {
            Ok(formatted) => formatted,
            Err(diags) => {
                for diag in &diags {
                    let _ = write!(stderr, "{}", render::human(diag, path, &source, color, 100));
                }
                let _ = writeln!(stderr, "{path}: not formatted: it has syntax errors");
                input_failed = true;
                continue;
            }
        };
        if path == "-" && !args.check {
            let _ = write!(stdout, "{formatted}");
            continue;
        }
        if formatted == source {
            continue;
        }
        if args.check {
            let _ = writeln!(stdout, "{path}");
            input_failed = true;
        } else if let Err(err) = std::fs::write(path, formatted) {
            let _ = writeln!(stderr, "error: cannot write {path}: {err}");
            io_failed = true;
        }
    }
    if io_failed {
        EXIT_USAGE
    } else if input_failed {
        EXIT_INPUT
    } else {
        0
    }
}
