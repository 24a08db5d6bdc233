//! `flowc explain CODE`: the page of a diagnostic code (what it means, a wrong example, the fix).

use super::EXIT_USAGE;
use flowc_compiler::codes::{lookup, CODES};
use flowc_compiler::suggest::did_you_mean;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A diagnostic code, e.g. E0301.
    #[arg(value_name = "CODE", required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its title.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &Args) -> i32 {
    if args.list {
        let list: String = CODES.iter().map(|info| format!("{}  {}\n", info.code, info.title)).collect();
        super::out(&list);
        return 0;
    }
    let code = args.code.as_deref().unwrap_or_default();
    match lookup(code.trim()) {
        Some(info) => {
            super::out(info.page);
            if !info.page.ends_with('\n') {
                super::out("\n");
            }
            0
        }
        None => {
            let hint = did_you_mean(&code.to_ascii_uppercase(), CODES.iter().map(|c| c.code))
                .map(|c| format!(" (did you mean {c}?)"))
                .unwrap_or_default();
            eprintln!("error: no diagnostic code `{code}`{hint}; `flowc explain --list` shows them all");
            EXIT_USAGE
        }
    }
}
