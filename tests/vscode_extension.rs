//! The VS Code extension in `editors/vscode/`: its manifest points at files that exist, every regex of
//! its TextMate grammar compiles in the dialect Oniguruma (VS Code) and Rust's `regex` share, and the
//! grammar, run by a small interpreter of TextMate's rules, gives the examples (and the `flow` blocks
//! of docs/language.md) the scopes it means to.
//!
//! What each token should be is decided without the grammar: declarations, names, connector kinds,
//! option keys, literals and calls come from the real parser's syntax tree, and comments, strings,
//! arrows and pipes from a hand-written scanner below.

use flowc_compiler::ast::{
    Expr, ExprKind, Item, Options, Stage, Target, TransformKind, TypeExpr, TypeExprKind, Value, ValueKind,
};
use flowc_compiler::{FileId, Severity, Span};
use regex::Regex;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn extension_dir() -> PathBuf {
    root().join("editors/vscode")
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A path of package.json (`./x/y.json`) resolved in the extension's folder; it must exist.
fn existing(relative: &Json) -> PathBuf {
    let relative = relative.as_str().expect("a path is a string");
    let path = extension_dir().join(relative.trim_start_matches("./"));
    assert!(path.is_file(), "package.json names {relative}, which does not exist");
    path
}

#[test]
fn manifest_points_at_files_that_exist() {
    let manifest = read_json(&extension_dir().join("package.json"));
    assert_eq!(manifest["name"], "flowc");
    assert_eq!(manifest["main"], "./extension.js");
    existing(&manifest["main"]);
    assert!(manifest["engines"]["vscode"].as_str().unwrap().starts_with("^1.82"));
    assert!(manifest["dependencies"]["vscode-languageclient"].as_str().unwrap().starts_with("^9"));
    assert!(manifest["activationEvents"].as_array().unwrap().contains(&Json::from("onLanguage:flow")));

    let languages = manifest["contributes"]["languages"].as_array().unwrap();
    let flow = languages.iter().find(|l| l["id"] == "flow").expect("the flow language is contributed");
    assert!(flow["extensions"].as_array().unwrap().contains(&Json::from(".flow")));
    let config = read_json(&existing(&flow["configuration"]));
    assert_eq!(config["comments"]["lineComment"], "//");
    assert_eq!(config["comments"]["blockComment"], serde_json::json!(["/*", "*/"]));
    for pair in [["{", "}"], ["[", "]"], ["(", ")"]] {
        assert!(config["brackets"].as_array().unwrap().contains(&serde_json::json!(pair)), "bracket {pair:?}");
    }
    let closing: Vec<&str> =
        config["autoClosingPairs"].as_array().unwrap().iter().map(|p| p["open"].as_str().unwrap()).collect();
    for open in ["{", "[", "(", "\""] {
        assert!(closing.contains(&open), "{open} is auto-closed");
    }

    let grammars = manifest["contributes"]["grammars"].as_array().unwrap();
    let grammar = grammars.iter().find(|g| g["language"] == "flow").expect("a grammar for flow");
    assert_eq!(grammar["scopeName"], "source.flow");
    assert_eq!(read_json(&existing(&grammar["path"]))["scopeName"], "source.flow");

    let setting = &manifest["contributes"]["configuration"]["properties"]["flowc.path"];
    assert_eq!(setting["type"], "string");
    assert_eq!(setting["default"], "flowc");

    // The client starts `<flowc.path> lsp` for local .flow files and stops it on deactivate.
    let client = std::fs::read_to_string(extension_dir().join("extension.js")).unwrap();
    for needle in [
        "require('vscode-languageclient/node')",
        "getConfiguration('flowc').get('path')",
        "args: ['lsp']",
        "{ scheme: 'file', language: 'flow' }",
        ".stop()",
        "module.exports = { activate, deactivate",
    ] {
        assert!(client.contains(needle), "extension.js lacks {needle}");
    }

    let ignored = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l.trim() == "editors/vscode/node_modules/"), "node_modules is not ignored");
}

// ------------------------------------------------------------------------------------------------
// The grammar and its interpreter

fn grammar_json() -> Json {
    read_json(&extension_dir().join("syntaxes/flow.tmLanguage.json"))
}

/// Compiles one of the grammar's regexes, refusing what Oniguruma and Rust's regex read differently
/// or what Rust's cannot read at all.
fn compile(pattern: &str) -> Regex {
    for construct in ["(?<=", "(?<!", "(?=", "(?!", "(?>", "\\G", "\\A", "\\z", "\\h", "\\k<", "(?x)"] {
        assert!(!pattern.contains(construct), "{pattern:?} uses {construct}, which the test cannot run");
    }
    Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern:?} does not compile: {e}"))
}

/// Scope names given to a match's capture groups.
type Captures = Vec<(usize, String)>;

enum Rule {
    Match {
        re: Regex,
        name: Option<String>,
        captures: Captures,
    },
    Region {
        begin: Regex,
        end: Regex,
        name: Option<String>,
        begin_captures: Captures,
        end_captures: Captures,
        patterns: Vec<Rule>,
    },
}

fn captures(rule: &Json, key: &str) -> Captures {
    let mut out = Vec::new();
    if let Some(map) = rule.get(key).and_then(Json::as_object) {
        for (group, capture) in map {
            out.push((group.parse().expect("capture keys are numbers"), capture["name"].as_str().unwrap().to_string()));
        }
    }
    out
}

/// The rules of a `patterns` list, `include: "#x"` replaced by the repository's rules.
fn rules(patterns: &Json, repository: &Json) -> Vec<Rule> {
    let mut out = Vec::new();
    for rule in patterns.as_array().expect("patterns is a list") {
        let name = rule.get("name").and_then(Json::as_str).map(str::to_string);
        if let Some(include) = rule.get("include").and_then(Json::as_str) {
            let key = include.strip_prefix('#').unwrap_or_else(|| panic!("include {include} is not local"));
            let entry = repository.get(key).unwrap_or_else(|| panic!("include {include} is not in the repository"));
            match entry.get("patterns") {
                Some(patterns) if entry.get("begin").is_none() => out.extend(rules(patterns, repository)),
                _ => out.extend(rules(&Json::Array(vec![entry.clone()]), repository)),
            }
        } else if let Some(pattern) = rule.get("match").and_then(Json::as_str) {
            out.push(Rule::Match { re: compile(pattern), name, captures: captures(rule, "captures") });
        } else {
            let begin = rule.get("begin").and_then(Json::as_str).expect("a rule has include, match or begin");
            let end = rule.get("end").and_then(Json::as_str).expect("a begin rule has an end");
            let inner = rule.get("patterns").cloned().unwrap_or(Json::Array(Vec::new()));
            out.push(Rule::Region {
                begin: compile(begin),
                end: compile(end),
                name,
                begin_captures: captures(rule, "beginCaptures"),
                end_captures: captures(rule, "endCaptures"),
                patterns: rules(&inner, repository),
            });
        }
    }
    out
}

fn top_rules() -> Vec<Rule> {
    let grammar = grammar_json();
    rules(&grammar["patterns"], &grammar["repository"])
}

#[test]
fn every_grammar_regex_compiles() {
    fn walk(json: &Json, count: &mut usize) {
        match json {
            Json::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("match" | "begin" | "end", Json::String(pattern)) => {
                            compile(pattern);
                            *count += 1;
                        }
                        _ => walk(value, count),
                    }
                }
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, count)),
            _ => {}
        }
    }
    let mut count = 0;
    walk(&grammar_json(), &mut count);
    assert!(count > 30, "only {count} regexes in the grammar");
    // Every include resolves.
    assert!(!top_rules().is_empty());
}

/// Scopes of every byte of `text`: the grammar run line by line as TextMate runs it. At each position
/// the rule whose match starts first wins, ties going to the earlier rule; inside a begin/end region,
/// the end pattern wins ties with the region's own patterns.
fn tokenize<'g>(rules: &'g [Rule], text: &str) -> Vec<Vec<&'g str>> {
    let mut scopes: Vec<Vec<&'g str>> = vec![Vec::new(); text.len()];
    let mut open: Vec<&'g Rule> = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let mut pos = 0;
        loop {
            let stack: Vec<&'g str> = open.iter().filter_map(|r| rule_name(r)).collect();
            let (patterns, end) = match open.last() {
                Some(Rule::Region { patterns, end, .. }) => (patterns.as_slice(), Some(end)),
                _ => (rules, None),
            };
            // (start, Some(rule) or None for the region's end, captures)
            let mut best: Option<(usize, Option<&'g Rule>, regex::Captures)> = None;
            if let Some(end) = end {
                if let Some(caps) = end.captures_at(line, pos) {
                    best = Some((caps.get(0).unwrap().start(), None, caps));
                }
            }
            for rule in patterns {
                let re = match rule {
                    Rule::Match { re, .. } => re,
                    Rule::Region { begin, .. } => begin,
                };
                if let Some(caps) = re.captures_at(line, pos) {
                    let start = caps.get(0).unwrap().start();
                    if best.as_ref().is_none_or(|(b, _, _)| start < *b) {
                        best = Some((start, Some(rule), caps));
                    }
                }
            }
            let Some((start, rule, caps)) = best else {
                paint(&mut scopes, line_start + pos, line_start + line.len(), &stack);
                break;
            };
            paint(&mut scopes, line_start + pos, line_start + start, &stack);
            let whole = caps.get(0).unwrap();
            let mut apply = |stack: &[&'g str], name: Option<&'g str>, groups: &'g Captures| {
                let mut base = stack.to_vec();
                base.extend(name);
                paint(&mut scopes, line_start + whole.start(), line_start + whole.end(), &base);
                for (group, scope) in groups {
                    if let Some(m) = caps.get(*group) {
                        for s in &mut scopes[line_start + m.start()..line_start + m.end()] {
                            s.push(scope);
                        }
                    }
                }
            };
            match rule {
                None => {
                    let Some(region @ Rule::Region { end_captures, .. }) = open.pop() else { unreachable!() };
                    apply(
                        &stack[..stack.len() - usize::from(rule_name(region).is_some())],
                        rule_name(region),
                        end_captures,
                    );
                }
                Some(rule @ Rule::Match { captures, .. }) => apply(&stack, rule_name(rule), captures),
                Some(region @ Rule::Region { begin_captures, .. }) => {
                    apply(&stack, rule_name(region), begin_captures);
                    open.push(region);
                }
            }
            if whole.end() > pos || rule.is_none() {
                pos = whole.end();
            } else {
                // An empty match that opens nothing: step over one character so the loop ends.
                match line[pos..].chars().next() {
                    Some(c) => pos += c.len_utf8(),
                    None => break,
                }
            }
        }
        // The line break carries the regions still open (a block comment over several lines).
        if line_start + line.len() < text.len() {
            scopes[line_start + line.len()] = open.iter().filter_map(|r| rule_name(r)).collect();
        }
        line_start += line.len() + 1;
    }
    scopes
}

fn rule_name(rule: &Rule) -> Option<&str> {
    match rule {
        Rule::Match { name, .. } | Rule::Region { name, .. } => name.as_deref(),
    }
}

fn paint<'g>(scopes: &mut [Vec<&'g str>], from: usize, to: usize, stack: &[&'g str]) {
    for s in &mut scopes[from..to] {
        *s = stack.to_vec();
    }
}

/// `scope` is `prefix` or a more specific scope under it (`comment.line` covers `comment.line.double-slash.flow`).
fn under(scope: &str, prefix: &str) -> bool {
    scope == prefix || scope.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
}

// ------------------------------------------------------------------------------------------------
// What the scopes should be, found without the grammar

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lexeme {
    LineComment,
    DocComment,
    BlockComment,
    Str,
    Escape,
    Interpolation,
    Placeholder,
    Arrow,
    RouteArrow,
    Pipe,
}

/// Comments, strings (and what is inside them), `->`, `=>` and `|`, by a plain scan of the text.
fn scan(text: &str) -> Vec<(Lexeme, Span)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            let kind = if rest.starts_with("///") { Lexeme::DocComment } else { Lexeme::LineComment };
            out.push((kind, Span::new(i, end)));
            i = end;
        } else if let Some(body) = rest.strip_prefix("/*") {
            let end = body.find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            out.push((Lexeme::BlockComment, Span::new(i, end)));
            i = end;
        } else if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                let rest = &text[i..];
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] != b'\n' {
                    out.push((Lexeme::Escape, Span::new(i, i + 2)));
                    i += 2;
                    continue;
                }
                let name_len = |s: &str| s.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
                if let Some(after) = rest.strip_prefix("${") {
                    let n = name_len(after);
                    if n > 0 && after[n..].starts_with('}') {
                        out.push((Lexeme::Interpolation, Span::new(i, i + 2 + n + 1)));
                        i += 2 + n + 1;
                        continue;
                    }
                }
                if let Some(after) = rest.strip_prefix("%{") {
                    let n = after.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.').count();
                    if n > 0 && after[n..].starts_with('}') {
                        out.push((Lexeme::Placeholder, Span::new(i, i + 2 + n + 1)));
                        i += 2 + n + 1;
                        continue;
                    }
                }
                if b[i] == b'%' && i + 1 < b.len() && b"YymdHMSs%".contains(&b[i + 1]) {
                    out.push((Lexeme::Placeholder, Span::new(i, i + 2)));
                    i += 2;
                    continue;
                }
                i += rest.chars().next().unwrap().len_utf8();
            }
            if i < b.len() && b[i] == b'"' {
                i += 1;
            }
            out.push((Lexeme::Str, Span::new(start, i)));
        } else if rest.starts_with("->") {
            out.push((Lexeme::Arrow, Span::new(i, i + 2)));
            i += 2;
        } else if rest.starts_with("=>") {
            out.push((Lexeme::RouteArrow, Span::new(i, i + 2)));
            i += 2;
        } else if b[i] == b'|' {
            out.push((Lexeme::Pipe, Span::new(i, i + 1)));
            i += 1;
        } else {
            i += rest.chars().next().unwrap().len_utf8();
        }
    }
    out
}

const BUILTIN_TYPES: &[&str] = &["string", "int", "float", "bool", "timestamp", "bytes", "duration"];

/// Expected scopes, each for a span of the text, with a note saying what the span is.
#[derive(Default)]
struct Expect {
    wants: Vec<(Span, &'static str, String)>,
}

impl Expect {
    fn want(&mut self, span: Span, scope: &'static str, what: impl Into<String>) {
        self.wants.push((span, scope, what.into()));
    }

    /// Only the bytes of a literal that are its digits (and unit): a leading `-` is an operator.
    fn number(&mut self, text: &str, span: Span, scope: &'static str) {
        let start = span.start + text[span.start..span.end].find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        self.want(Span::new(start, span.end), scope, "a number");
    }

    fn value(&mut self, text: &str, value: &Value) {
        self.literal(text, &value.kind, value.span);
        match &value.kind {
            ValueKind::List(items) => items.iter().for_each(|v| self.value(text, v)),
            ValueKind::Record(options) => self.options(text, options),
            _ => {}
        }
    }

    fn literal(&mut self, text: &str, kind: &ValueKind, span: Span) {
        match kind {
            ValueKind::Int(_) | ValueKind::Float(_) => self.number(text, span, "constant.numeric"),
            ValueKind::Duration(_) | ValueKind::Size(_) => {
                self.number(text, span, "constant.numeric.quantity");
                let digits = text[span.start..span.end].trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
                self.want(Span::new(span.start + digits, span.end), "keyword.other.unit", "a unit");
            }
            ValueKind::Bool(_) => self.want(span, "constant.language.boolean", "a boolean"),
            ValueKind::Null => self.want(span, "constant.language.null", "null"),
            _ => {}
        }
    }

    fn options(&mut self, text: &str, options: &Options) {
        for entry in &options.entries {
            self.want(entry.key.span, "variable.other.property", format!("option key `{}`", entry.key.name));
            self.value(text, &entry.value);
        }
    }

    fn type_expr(&mut self, ty: &TypeExpr) {
        match &ty.kind {
            TypeExprKind::Name(name) if BUILTIN_TYPES.contains(&name.name.as_str()) => {
                self.want(name.span, "support.type.primitive", format!("builtin type `{}`", name.name))
            }
            TypeExprKind::Name(_) => {}
            TypeExprKind::Record(fields) => {
                for field in fields {
                    self.want(field.name.span, "variable.other.property", format!("field `{}`", field.name.name));
                    self.type_expr(&field.ty);
                }
            }
            TypeExprKind::List(inner) | TypeExprKind::Optional(inner) => self.type_expr(inner),
        }
    }

    fn expr(&mut self, text: &str, expr: &Expr) {
        match &expr.kind {
            ExprKind::Lit(kind) => self.literal(text, kind, expr.span),
            ExprKind::Path(_) => {}
            ExprKind::Call(name, args) => {
                self.want(name.span, "support.function", format!("call of `{}`", name.name));
                args.iter().for_each(|a| self.expr(text, a));
            }
            ExprKind::Unary(_, inner) => self.expr(text, inner),
            ExprKind::Binary(_, left, right) => {
                self.expr(text, left);
                self.expr(text, right);
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(text, i)),
        }
    }

    /// A keyword at the start of `span`.
    fn keyword(&mut self, text: &str, span: Span, keyword: &'static str, scope: &'static str) {
        assert!(text[span.start..].starts_with(keyword), "the parser's span does not start at `{keyword}`");
        self.want(Span::new(span.start, span.start + keyword.len()), scope, format!("keyword `{keyword}`"));
    }
}

/// Checks the grammar's scopes for one complete, valid `.flow` text; returns how many spans it checked.
fn check_highlighting(rules: &[Rule], origin: &str, text: &str) -> usize {
    let (file, diagnostics) = flowc_compiler::syntax::parse(FileId(0), text);
    let errors: Vec<&str> =
        diagnostics.iter().filter(|d| d.severity == Severity::Error).map(|d| d.message.as_str()).collect();
    assert!(errors.is_empty(), "{origin} does not parse: {errors:?}");
    let scopes = tokenize(rules, text);

    let mut expect = Expect::default();
    let mut declaration_keywords = Vec::new();
    for item in &file.items {
        match item {
            Item::Type(decl) => {
                expect.keyword(text, decl.span, "type", "keyword.declaration");
                declaration_keywords.push(Span::new(decl.span.start, decl.span.start + 4));
                expect.want(decl.name.span, "entity.name.type", format!("declared type `{}`", decl.name.name));
                expect.type_expr(&decl.ty);
            }
            Item::Topic(decl) => {
                expect.keyword(text, decl.span, "topic", "keyword.declaration");
                declaration_keywords.push(Span::new(decl.span.start, decl.span.start + 5));
                expect.want(decl.name.span, "entity.name", format!("declared topic `{}`", decl.name.name));
                if let Some(ty) = &decl.ty {
                    expect.type_expr(ty);
                }
                expect.options(text, &decl.options);
            }
            Item::Node(decl) => {
                expect.want(decl.role_span, "keyword.declaration", "a node's role");
                declaration_keywords.push(decl.role_span);
                expect.want(decl.name.span, "entity.name", format!("declared node `{}`", decl.name.name));
                expect.want(decl.kind.span, "support.type", format!("connector kind `{}`", decl.kind.name));
                expect.options(text, &decl.options);
            }
            Item::Tests(decl) => {
                expect.keyword(text, decl.span, "tests", "keyword.declaration");
                declaration_keywords.push(Span::new(decl.span.start, decl.span.start + 5));
            }
            Item::Test(block) => {
                expect.keyword(text, block.span, "test", "keyword.declaration");
                declaration_keywords.push(Span::new(block.span.start, block.span.start + 4));
                for entry in &block.entries {
                    let word = match entry.dir {
                        flowc_compiler::ast::TestDir::Input => "input",
                        flowc_compiler::ast::TestDir::Expect => "expect",
                    };
                    expect.keyword(text, entry.span, word, "keyword.other.test");
                    expect.want(entry.node.span, "entity.name", format!("tested node `{}`", entry.node.name));
                }
            }
            Item::Flow(stmt) => {
                for stage in &stmt.stages {
                    match stage {
                        Stage::Edge(Target::Group(_, span)) => {
                            expect.keyword(text, *span, "group", "keyword.control.transform")
                        }
                        Stage::Edge(Target::Route(arms, span)) => {
                            expect.keyword(text, *span, "route", "keyword.control.transform");
                            for arm in arms {
                                match &arm.condition {
                                    Some(condition) => expect.expr(text, condition),
                                    None => expect.keyword(text, arm.span, "else", "keyword.control.transform"),
                                }
                            }
                        }
                        Stage::Edge(_) => {}
                        Stage::Pipe(transform) => {
                            let word = text[transform.span.start..].split(|c: char| !c.is_alphanumeric()).next();
                            let keyword = ["where", "select", "set", "drop", "parse"]
                                .into_iter()
                                .find(|k| Some(*k) == word)
                                .expect("a transform starts with its keyword");
                            expect.keyword(text, transform.span, keyword, "keyword.control.transform");
                            match &transform.kind {
                                TransformKind::Where(condition) => expect.expr(text, condition),
                                TransformKind::Select(items) => {
                                    for item in items {
                                        if let Some(e) = &item.expr {
                                            expect.want(item.name.span, "variable.other.property", "a select target");
                                            expect.expr(text, e);
                                        }
                                    }
                                }
                                TransformKind::Set(assignments) => {
                                    for a in assignments {
                                        expect.want(a.name.span, "variable.other.property", "a set target");
                                        expect.expr(text, &a.expr);
                                    }
                                }
                                TransformKind::Drop(_) => {}
                                TransformKind::Parse(parse) => {
                                    expect.want(parse.format.span, "support.constant.format", "a parse format");
                                    if let Some(options) = &parse.options {
                                        expect.options(text, options);
                                    }
                                    let named = match &parse.ty.kind {
                                        TypeExprKind::Name(name) if !BUILTIN_TYPES.contains(&name.name.as_str()) => {
                                            Some(name)
                                        }
                                        _ => None,
                                    };
                                    if let Some(name) = named {
                                        expect.want(name.span, "entity.name.type", "the type after `as`");
                                    } else {
                                        expect.type_expr(&parse.ty);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    let lexemes = scan(text);
    for (lexeme, span) in &lexemes {
        let scope = match lexeme {
            Lexeme::LineComment => "comment.line.double-slash",
            Lexeme::DocComment => "comment.line.documentation",
            Lexeme::BlockComment => "comment.block",
            Lexeme::Str => "string.quoted.double",
            Lexeme::Escape => "constant.character.escape",
            Lexeme::Interpolation => "meta.interpolation",
            Lexeme::Placeholder => "constant.other.placeholder",
            Lexeme::Arrow => "keyword.operator.arrow.flow",
            Lexeme::RouteArrow => "keyword.operator.arrow.route",
            Lexeme::Pipe => "keyword.operator.pipe",
        };
        expect.want(*span, scope, format!("{lexeme:?}"));
    }

    // Every expected scope on every byte of its span (white space inside a comment or string too).
    let mut failures = Vec::new();
    for (span, scope, what) in &expect.wants {
        let missing = (span.start..span.end).find(|&at| !scopes[at].iter().any(|s| under(s, scope)));
        if let Some(at) = missing {
            let written = &text[span.start..span.end];
            failures.push(format!("{what} `{written}`: byte {at} has {:?}, not {scope}", scopes[at]));
        }
    }

    // And nowhere else: no comment, string or declaration keyword the scan and the parser do not see.
    let inside =
        |at: usize, kinds: &[Lexeme]| lexemes.iter().any(|(k, s)| kinds.contains(k) && s.start <= at && at < s.end);
    let comments = [Lexeme::LineComment, Lexeme::DocComment, Lexeme::BlockComment];
    for (at, byte_scopes) in scopes.iter().enumerate() {
        let has = |prefix: &str| byte_scopes.iter().any(|s| under(s, prefix));
        if has("comment") && !inside(at, &comments) {
            failures.push(format!("byte {at} is a comment to the grammar only: {byte_scopes:?}"));
        }
        if has("string") && !inside(at, &[Lexeme::Str]) {
            failures.push(format!("byte {at} is a string to the grammar only: {byte_scopes:?}"));
        }
        if has("keyword.declaration") && !declaration_keywords.iter().any(|s| s.start <= at && at < s.end) {
            failures.push(format!("byte {at} is a declaration keyword to the grammar only: {byte_scopes:?}"));
        }
        if has("keyword.operator.arrow") && !inside(at, &[Lexeme::Arrow, Lexeme::RouteArrow]) {
            failures.push(format!("byte {at} is an arrow to the grammar only: {byte_scopes:?}"));
        }
    }
    failures.truncate(20);
    assert!(failures.is_empty(), "{origin}:\n  {}", failures.join("\n  "));
    expect.wants.len()
}

/// Statistics over the checks, so a vacuous corpus fails.
fn count_kinds(text: &str) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for (lexeme, _) in scan(text) {
        let key = match lexeme {
            Lexeme::LineComment | Lexeme::DocComment | Lexeme::BlockComment => "comment",
            Lexeme::Str => "string",
            Lexeme::Arrow => "arrow",
            _ => continue,
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_examples_are_highlighted_as_intended() {
    let rules = top_rules();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 4, "the examples are missing");
    let mut checked = 0;
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        checked += check_highlighting(&rules, &path.display().to_string(), &text);
        for (k, n) in count_kinds(&text) {
            *kinds.entry(k).or_insert(0) += n;
        }
    }
    assert!(checked > 100, "only {checked} spans checked");
    for kind in ["comment", "string", "arrow"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= 5, "too few {kind}s in the examples: {kinds:?}");
    }
}

#[test]
fn the_language_reference_is_highlighted_as_intended() {
    let rules = top_rules();
    let doc = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    let mut blocks = 0;
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```flow\n") {
        let body = &rest[start + "```flow\n".len()..];
        let end = body.find("```").expect("a flow block is closed");
        blocks += 1;
        check_highlighting(&rules, &format!("docs/language.md, flow block {blocks}"), &body[..end]);
        rest = &body[end + 3..];
    }
    assert!(blocks >= 10, "only {blocks} flow blocks in docs/language.md");
}

#[test]
fn the_interpreter_sees_regions_and_ties() {
    // Checks of the interpreter itself, on text whose scopes are known.
    let rules = top_rules();
    let text = "/* a\n b */ sink s = null {}\nx | set group = \"g\\${N}\" -> y // end\n";
    let scopes = tokenize(&rules, text);
    let at = |needle: &str| text.find(needle).unwrap();
    let has = |i: usize, prefix: &str| scopes[i].iter().any(|s| under(s, prefix));
    assert!(has(at("b */"), "comment.block"), "a block comment continues on the next line");
    assert!(has(4, "comment.block"), "the line break inside a block comment is a comment");
    assert!(!has(at(" sink"), "comment"), "the block comment ends at */");
    assert!(has(at("sink"), "keyword.declaration"));
    assert!(has(at("null"), "support.type.connector"), "the kind wins over the null literal");
    assert!(has(at("group"), "variable.other.property"), "a keyword used as a field name");
    assert!(!has(at("group"), "keyword"));
    assert!(has(at("\\$"), "constant.character.escape"));
    assert!(!has(at("{N}"), "meta.interpolation"), "an escaped $ does not interpolate");
    assert!(has(at("-> y"), "keyword.operator.arrow"));
    assert!(has(at("// end") + 4, "comment.line"));
    // An unterminated string ends with its line.
    let scopes = tokenize(&rules, "x = \"open\nsink k = logger\n");
    assert!(scopes[5].iter().any(|s| under(s, "string")));
    assert!(scopes[10].iter().any(|s| under(s, "keyword.declaration")), "{:?}", scopes[10]);
}
