//! Tests of `flowc fmt`'s layout: canonical spacing, line breaks and alignment, comments kept, syntax errors returned.

use super::format;

fn fmt(src: &str) -> String {
    let out = format(src).unwrap_or_else(|d| panic!("does not parse: {d:?}"));
    let again = format(&out).expect("formatted output parses");
    assert_eq!(again, out, "formatting is not idempotent for:\n{src}");
    out
}

#[test]
fn spacing_is_canonical() {
    assert_eq!(
        fmt("source   r1=spooldir{dir=\"spool\"}\nchannel c1 = memory{capacity=10_000}\nsink s1=logger{ }\nr1->c1->s1\n"),
        "source r1 = spooldir { dir = \"spool\" }\nchannel c1 = memory { capacity = 10_000 }\nsink s1 = logger {}\nr1 -> c1 -> s1\n"
    );
}

#[test]
fn long_blocks_break_one_option_per_line_aligned() {
    let src = "sink k1 = files { path = \"out/aura/%y-%m-%d/%H%M/\", prefix = \"hello-\", round = 10m, roll = { interval = 3s, size = 20B, count = 5 }, batch = 1 }\n";
    assert_eq!(
        fmt(src),
        "sink k1 = files {\n  path   = \"out/aura/%y-%m-%d/%H%M/\"\n  prefix = \"hello-\"\n  round  = 10m\n  roll   = { interval = 3s, size = 20B, count = 5 }\n  batch  = 1\n}\n"
    );
}

#[test]
fn short_multi_line_blocks_join() {
    assert_eq!(
        fmt("channel c = file {\n  fsync = interval,\n  fsync_interval = 500ms,\n}\n"),
        "channel c = file { fsync = interval, fsync_interval = 500ms }\n"
    );
    assert_eq!(
        fmt("source g = generator { mode = stress size = 1KiB }"),
        "source g = generator { mode = stress, size = 1KiB }\n"
    );
}

#[test]
fn comments_are_kept_in_place() {
    let src = "// head\n\n/// doc\nsource r1 = exec { command = \"x\" } // trailing\n/* block */\nsink k1 = files {\n  path = \"out/\" // where\n  // own line\n  batch = 1   // one\n}\nr1 -> k1\n";
    assert_eq!(
        fmt(src),
        "// head\n\n/// doc\nsource r1 = exec { command = \"x\" }  // trailing\n/* block */\nsink k1 = files {\n  path  = \"out/\"  // where\n  // own line\n  batch = 1  // one\n}\nr1 -> k1\n"
    );
}

#[test]
fn end_of_line_comments_align_within_a_block() {
    let src = "sink k1 = files {\n  path = \"out/\" // a\n  prefix = \"p-\" // b\n  round = 10m\n}\n";
    assert_eq!(
        fmt(src),
        "sink k1 = files {\n  path   = \"out/\"  // a\n  prefix = \"p-\"    // b\n  round  = 10m\n}\n"
    );
}

#[test]
fn pipelines_keep_their_breaks_and_indent_two() {
    let src = "logs\n| parse combined as Access else -> bad\n    |where status < 500\n  and method != \"HEAD\"\n->buffer -> out\n";
    assert_eq!(
        fmt(src),
        "logs\n  | parse combined as Access else -> bad\n  | where status < 500\n    and method != \"HEAD\"\n  -> buffer -> out\n"
    );
    // A break after the operator moves before it.
    assert_eq!(fmt("a |\n where x == 1 ->\n b\n"), "a\n  | where x == 1\n  -> b\n");
}

#[test]
fn records_lists_and_calls() {
    assert_eq!(
        fmt("type A = {host:string,tags:[ string ]?,geo:{c:string}}\nweb | set x = f( a , b ), y = [1,2] | where x in [ \"a\" ] -> out\n"),
        "type A = { host: string, tags: [string]?, geo: { c: string } }\nweb | set x = f(a, b), y = [1, 2] | where x in [\"a\"] -> out\n"
    );
    let long = "type Access = { host: string, ts: timestamp, method: string, path: string, status: int, bytes: int, agent: string }\n";
    assert_eq!(
        fmt(long),
        "type Access = {\n  host: string,\n  ts: timestamp,\n  method: string,\n  path: string,\n  status: int,\n  bytes: int,\n  agent: string,\n}\n"
    );
}

#[test]
fn routes_have_one_arm_per_line() {
    assert_eq!(
        fmt("e -> route { level == \"fatal\" => [p, q], level == \"x\" => q, else => r }\n"),
        "e -> route {\n  level == \"fatal\" => [p, q]\n  level == \"x\"     => q\n  else             => r\n}\n"
    );
}

#[test]
fn minus_keeps_its_spacing() {
    assert_eq!(fmt("a | where ts > now() -1h and x == - 2 -> b"), "a | where ts > now() -1h and x == - 2 -> b\n");
    assert_eq!(fmt("a | set n = -status, d = now() - ts -> b"), "a | set n = -status, d = now() - ts -> b\n");
}

#[test]
fn blank_lines_collapse_to_one() {
    assert_eq!(
        fmt("\n\nsource a = stdin\n\n\n\nsink b = logger\na -> b\n\n\n"),
        "source a = stdin\n\nsink b = logger\na -> b\n"
    );
}

#[test]
fn syntax_errors_are_returned() {
    let errs = format("source r1 = spooldir { dir: \"spool\" }\n").unwrap_err();
    assert_eq!(errs[0].code, "E0101");
    assert_eq!(format("sink s = logger { x = \"abc }\n").unwrap_err()[0].code, "E0102");
}

#[test]
fn checker_errors_do_not_stop_formatting() {
    assert_eq!(
        fmt("source r1 = spoldir { dir = \"x\" , delay=10mins }"),
        "source r1 = spoldir { dir = \"x\", delay = 10mins }\n"
    );
}

#[test]
fn a_long_pipeline_breaks_at_its_stages() {
    let src = "web | parse combined as Access else -> bad | set summary = method + \" \" + path + \" \" + to_string(status) -> c -> out\n";
    assert_eq!(
        fmt(src),
        "web\n  | parse combined as Access else -> bad\n  | set summary = method + \" \" + path + \" \" + to_string(status)\n  -> c -> out\n"
    );
}

#[test]
fn test_blocks_hold_one_entry_per_line() {
    let src = "tests   \"a.flow\"\ntest \"one\"{input web=[\"a\",\"b\"]   expect out=[{status=200,path=\"/\"}]\n\n  // nothing else\n  expect dead=[ ]}\ntest \"empty\" { }\n";
    assert_eq!(
        fmt(src),
        "tests \"a.flow\"\ntest \"one\" {\n  input web = [\"a\", \"b\"]\n  expect out = [{ status = 200, path = \"/\" }]\n\n  // nothing else\n  expect dead = []\n}\ntest \"empty\" {}\n"
    );
}
