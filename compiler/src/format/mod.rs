//! `flowc fmt`: one canonical layout for `.flow` files, comments kept.
//!
//! The formatter re-emits the file's own tokens, in order, with canonical spacing and line breaks, so
//! what the file means cannot change: only white space moves, and commas that are optional separators
//! in option blocks and `route` arms are normalised (added between entries on one line, dropped when
//! entries stand one per line). Statement boundaries come from the parser (the AST's item spans); the
//! layout inside a statement comes from its brackets:
//!
//! - every statement starts a line; blank lines between statements are kept (at most one);
//! - a block (`{…}`, `[…]`, `(…)`) stays on one line when it fits in [`MAX_WIDTH`] columns and holds
//!   no comment; otherwise it has one entry per line, indented 2 (`key = value` with the `=` aligned,
//!   record fields and list items with a trailing comma); a `route` always has one arm per line, and
//!   a `test` block one `input`/`expect` per line;
//! - a pipeline keeps the line breaks its author put before (or after) a `|` or `->`: the continued
//!   line is indented 2 and starts with `| ` or `-> `; a break at `and`/`or` is indented 4;
//! - comments stay where they were: on their own line (re-indented), or at the end of a line (aligned
//!   with the end-of-line comments of the neighbouring lines of the same block);
//! - a `-` keeps the spacing it was written with after it (`now() -1h` and `now() - 1h` mean the same;
//!   the author's choice is left alone).
//!
//! A file with syntax errors is not formatted: [`format`] returns the errors.

mod lex;

use crate::codes::{self, Code};
use crate::diagnostic::{Diagnostic, Severity};
use crate::span::FileId;
use crate::syntax::keywords::KEYWORDS;
use lex::{Kind, Tok};

/// Lines longer than this break their blocks.
pub const MAX_WIDTH: usize = 100;

/// The codes that mean the file does not parse; such a file is not formatted.
const SYNTAX_CODES: &[Code] = &[codes::E0101, codes::E0102, codes::E0105];

/// Formats a whole file. Returns the syntax errors instead when the file does not parse.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let (file, diags) = crate::syntax::parse(FileId(0), source);
    let errors: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity == Severity::Error && SYNTAX_CODES.iter().any(|c| c.as_str() == d.code))
        .collect();
    if !errors.is_empty() || !file.broken.is_empty() {
        return Err(errors);
    }
    let toks = lex::lex(source);
    let spans: Vec<(usize, usize, bool)> = file
        .items
        .iter()
        .map(|item| {
            let span = item.span();
            (span.start, span.end, matches!(item, crate::ast::Item::Flow(_)))
        })
        .collect();
    Ok(print_file(&toks, &spans))
}

// ---------------------------------------------------------------- tree

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupKind {
    /// `{ key = value … }`: option blocks, record values, parse options.
    Options,
    /// `{ name: type, … }`
    Record,
    /// `select { a, b = expr }`
    Select,
    /// `route { cond => target … }`
    Route,
    /// `test "name" { input … expect … }`: one entry per line, always.
    Test,
    /// `[ … ]`: lists, list types, fan-outs.
    List,
    /// `( … )`: calls and parenthesised expressions.
    Paren,
}

#[derive(Debug)]
enum Node<'a> {
    T(Tok<'a>),
    G(Group<'a>),
}

#[derive(Debug)]
struct Group<'a> {
    open: Tok<'a>,
    close: Tok<'a>,
    kind: GroupKind,
    kids: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    fn first(&self) -> Tok<'a> {
        match self {
            Node::T(t) => *t,
            Node::G(g) => g.open,
        }
    }
    fn last(&self) -> Tok<'a> {
        match self {
            Node::T(t) => *t,
            Node::G(g) => g.close,
        }
    }
    fn tok(&self) -> Option<Tok<'a>> {
        match self {
            Node::T(t) => Some(*t),
            Node::G(_) => None,
        }
    }
    fn is_comment(&self) -> bool {
        self.tok().is_some_and(|t| t.is_comment())
    }
    fn is(&self, punct: &str) -> bool {
        self.tok().is_some_and(|t| t.is(punct))
    }
}

/// Builds the bracket tree of a statement's tokens.
fn tree<'a>(toks: &[Tok<'a>]) -> Vec<Node<'a>> {
    let mut i = 0;
    build(toks, &mut i, None)
}

fn build<'a>(toks: &[Tok<'a>], i: &mut usize, closer: Option<&str>) -> Vec<Node<'a>> {
    let mut out: Vec<Node<'a>> = Vec::new();
    while *i < toks.len() {
        let t = toks[*i];
        if let Some(c) = closer {
            if t.is(c) {
                return out;
            }
        }
        *i += 1;
        let close = match t.text {
            "{" if t.kind == Kind::Punct => "}",
            "[" if t.kind == Kind::Punct => "]",
            "(" if t.kind == Kind::Punct => ")",
            _ => {
                out.push(Node::T(t));
                continue;
            }
        };
        let mut before = out.iter().rev().filter(|n| !n.is_comment()).map(Node::tok);
        let (prev, prev2) = (before.next().flatten(), before.next().flatten());
        let test_block = prev.is_some_and(|p| p.kind == Kind::Str)
            && prev2.is_some_and(|p| p.kind == Kind::Word && p.text == "test");
        let kids = build(toks, i, Some(close));
        // The parser accepted the file, so the closer is there; an unbalanced tail is kept as is.
        let Some(close_tok) = toks.get(*i).copied() else {
            out.push(Node::T(t));
            out.extend(kids);
            break;
        };
        *i += 1;
        let kind = match t.text {
            "[" => GroupKind::List,
            "(" => GroupKind::Paren,
            _ if test_block => GroupKind::Test,
            _ if prev.is_some_and(|p| p.kind == Kind::Word && p.text == "route") => GroupKind::Route,
            _ if prev.is_some_and(|p| p.kind == Kind::Word && p.text == "select") => GroupKind::Select,
            _ => {
                let mut sig = kids.iter().filter(|n| !n.is_comment());
                let (a, b) = (sig.next(), sig.next());
                if a.and_then(Node::tok).is_some_and(|t| t.kind == Kind::Word) && b.is_some_and(|n| n.is(":")) {
                    GroupKind::Record
                } else {
                    GroupKind::Options
                }
            }
        };
        out.push(Node::G(Group { open: t, close: close_tok, kind, kids }));
    }
    out
}

/// One entry of a block: comments on their own lines before it, its nodes, end-of-line comments.
struct Entry<'n, 'a> {
    lead: Vec<Tok<'a>>,
    nodes: Vec<&'n Node<'a>>,
    trail: Vec<Tok<'a>>,
}

/// Splits a block's children into entries; returns them and the comments before the closer.
fn entries<'n, 'a>(g: &'n Group<'a>) -> (Vec<Entry<'n, 'a>>, Vec<Tok<'a>>) {
    // Ranges of significant children, per entry.
    let kids = &g.kids;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let mut last = 0usize;
    let mut after_arrow = false;
    let sig: Vec<usize> = (0..kids.len()).filter(|&k| !kids[k].is_comment()).collect();
    for (pos, &k) in sig.iter().enumerate() {
        let node = &kids[k];
        if node.is(",") {
            if let Some(s) = start.take() {
                ranges.push((s, last));
            }
            after_arrow = false;
            continue;
        }
        if g.kind == GroupKind::Options && start.is_some() {
            let next_is_eq = sig.get(pos + 1).is_some_and(|&n| kids[n].is("="));
            if node.tok().is_some_and(|t| t.kind == Kind::Word) && next_is_eq {
                if let Some(s) = start.take() {
                    ranges.push((s, last));
                }
            }
        }
        if g.kind == GroupKind::Test && start.is_some() {
            let next_is_word = sig.get(pos + 1).and_then(|&n| kids[n].tok()).is_some_and(|t| t.kind == Kind::Word);
            let starts_entry = node.tok().is_some_and(|t| t.kind == Kind::Word && matches!(t.text, "input" | "expect"));
            if starts_entry && next_is_word {
                if let Some(s) = start.take() {
                    ranges.push((s, last));
                }
            }
        }
        if start.is_none() {
            start = Some(k);
        }
        last = k;
        if g.kind == GroupKind::Route {
            if node.is("=>") {
                after_arrow = true;
            } else if after_arrow {
                ranges.push((start.take().unwrap_or(k), k));
                after_arrow = false;
            }
        }
    }
    if let Some(s) = start {
        ranges.push((s, last));
    }
    let mut out: Vec<Entry<'n, 'a>> =
        ranges.iter().map(|_| Entry { lead: Vec::new(), nodes: Vec::new(), trail: Vec::new() }).collect();
    let mut tail_comments = Vec::new();
    for (k, node) in kids.iter().enumerate() {
        if let Some(e) = ranges.iter().position(|&(s, l)| k >= s && k <= l) {
            out[e].nodes.push(node);
            continue;
        }
        let Some(t) = node.tok() else { continue };
        if !t.is_comment() {
            continue; // a separating comma
        }
        let prev = ranges.iter().rposition(|&(_, l)| l < k);
        let next = ranges.iter().position(|&(s, _)| s > k);
        match (prev, next) {
            (Some(p), _) if t.nl_before == 0 && (out[p].trail.last().is_none_or(|c| c.kind != Kind::LineComment)) => {
                out[p].trail.push(t)
            }
            (_, Some(n)) => out[n].lead.push(t),
            _ => tail_comments.push(t),
        }
    }
    (out, tail_comments)
}

// ---------------------------------------------------------------- spacing and flat rendering

fn is_operand_end(t: Tok<'_>) -> bool {
    match t.kind {
        Kind::Word => !KEYWORDS.contains(&t.text) || matches!(t.text, "true" | "false" | "null"),
        Kind::Str | Kind::Num => true,
        Kind::Punct => matches!(t.text, ")" | "]"),
        _ => false,
    }
}

/// Whether one space goes between two tokens written next to each other on a line.
fn space(a: Tok<'_>, b: Tok<'_>) -> bool {
    if b.kind == Kind::Punct && matches!(b.text, "," | ")" | "]" | "?" | ":" | ".") {
        return false;
    }
    if a.kind == Kind::Punct && matches!(a.text, "(" | "[" | ".") {
        return false;
    }
    if b.is("(") && a.kind == Kind::Word && !KEYWORDS.contains(&a.text) {
        return false;
    }
    if a.is("-") {
        return b.space_before;
    }
    if b.is("-") && is_operand_end(a) {
        return b.space_before;
    }
    true
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// The one-line rendering of a sequence, or `None` when it cannot be on one line (comments, routes).
fn flat(nodes: &[&Node<'_>]) -> Option<String> {
    let mut out = String::new();
    let mut prev: Option<Tok<'_>> = None;
    for node in nodes {
        if node.is_comment() {
            return None;
        }
        if let Some(p) = prev {
            if space(p, node.first()) {
                out.push(' ');
            }
        }
        match node {
            Node::T(t) => out.push_str(t.text),
            Node::G(g) => out.push_str(&flat_group(g)?),
        }
        prev = Some(node.last());
    }
    Some(out)
}

fn flat_group(g: &Group<'_>) -> Option<String> {
    let always_breaks = g.kind == GroupKind::Route || (g.kind == GroupKind::Test && !g.kids.is_empty());
    if always_breaks || g.kids.iter().any(Node::is_comment) {
        return None;
    }
    let (items, _) = entries(g);
    let mut parts = Vec::new();
    for e in &items {
        parts.push(flat(&e.nodes)?);
    }
    let inner = parts.join(", ");
    Some(match (g.open.text, inner.is_empty()) {
        ("{", true) => "{}".to_string(),
        ("{", false) => format!("{{ {inner} }}"),
        (open, _) => format!("{open}{inner}{}", g.close.text),
    })
}

// ---------------------------------------------------------------- printer

#[derive(Debug, Default)]
struct Line {
    indent: usize,
    text: String,
    comment: Option<String>,
    /// A line that is only a comment (not aligned with end-of-line comments).
    own: bool,
}

#[derive(Default)]
struct Printer<'a> {
    lines: Vec<Line>,
    cur: Line,
    prev: Option<Tok<'a>>,
}

impl<'a> Printer<'a> {
    fn flush(&mut self) {
        if !self.cur.text.is_empty() || self.cur.comment.is_some() {
            let indent = self.cur.indent;
            self.lines.push(std::mem::replace(&mut self.cur, Line { indent, ..Line::default() }));
        }
        self.prev = None;
    }

    fn newline(&mut self, indent: usize) {
        self.flush();
        self.cur.indent = indent;
    }

    fn blank(&mut self) {
        self.flush();
        if self.lines.last().is_some_and(|l| !l.text.is_empty() || l.comment.is_some()) {
            self.lines.push(Line::default());
        }
    }

    fn col(&self) -> usize {
        self.cur.indent + width(&self.cur.text)
    }

    fn indent(&self) -> usize {
        self.cur.indent
    }

    /// Writes `text` (starting with token `first`, ending with `last`) on the current line.
    fn write(&mut self, first: Tok<'a>, last: Tok<'a>, text: &str, cont: usize) {
        if self.cur.comment.is_some() {
            self.newline(cont);
        }
        if let Some(p) = self.prev {
            if space(p, first) {
                self.cur.text.push(' ');
            }
        }
        self.cur.text.push_str(text);
        self.prev = Some(last);
    }

    fn sep_width(&self, first: Tok<'_>) -> usize {
        usize::from(self.prev.is_some_and(|p| space(p, first)))
    }

    /// A comment: at the end of the current line, or on a line of its own.
    fn comment(&mut self, t: Tok<'a>, indent: usize) {
        let own = t.nl_before > 0 || (self.cur.text.is_empty() && self.cur.comment.is_none());
        if !own && t.kind == Kind::BlockComment && self.cur.comment.is_none() {
            // `/* … */` inside a line stays inside it.
            self.write(t, t, t.text, indent);
        } else if own {
            if t.nl_before > 1 {
                self.blank();
            }
            self.newline(indent);
            self.cur.text.push_str(t.text);
            self.cur.own = true;
            self.newline(indent);
        } else {
            match &mut self.cur.comment {
                Some(c) => {
                    c.push(' ');
                    c.push_str(t.text);
                }
                None => self.cur.comment = Some(t.text.to_string()),
            }
        }
    }

    /// Prints a sequence inline; `breaks[k]` says node `k` starts a new line at that indent.
    fn seq(&mut self, nodes: &[&Node<'a>], breaks: &[Option<usize>], tail: usize, cont: usize) {
        for (k, node) in nodes.iter().enumerate() {
            if let Some(Some(indent)) = breaks.get(k) {
                if node.first().nl_before > 1 {
                    self.blank();
                }
                self.newline(*indent);
            }
            match node {
                Node::T(t) if t.is_comment() => self.comment(*t, cont),
                Node::T(t) => self.write(*t, *t, t.text, cont),
                Node::G(g) => {
                    // What follows the group on its line.
                    let mut rest = tail;
                    for (j, n) in nodes.iter().enumerate().skip(k + 1) {
                        if breaks.get(j).is_some_and(Option::is_some) {
                            rest = 0;
                            break;
                        }
                        rest += 1 + flat(&[n]).map_or(0, |s| width(&s));
                    }
                    self.group(g, rest, cont);
                }
            }
        }
    }

    fn group(&mut self, g: &Group<'a>, tail: usize, cont: usize) {
        if self.cur.comment.is_some() {
            self.newline(cont);
        }
        if let Some(text) = flat_group(g) {
            // Calls and parentheses never break (a long expression breaks at its pipeline's stages).
            if g.kind == GroupKind::Paren || self.col() + self.sep_width(g.open) + width(&text) + tail <= MAX_WIDTH {
                self.write(g.open, g.close, &text, cont);
                return;
            }
        }
        let base = self.indent();
        let inner = base + 2;
        self.write(g.open, g.open, g.open.text, cont);
        let (items, closing) = entries(g);
        let key_width = match g.kind {
            GroupKind::Options => items.iter().filter(|e| is_option(e)).map(|e| width(e.nodes[0].first().text)).max(),
            GroupKind::Route => items.iter().filter_map(|e| route_cond(e).as_deref().map(width)).max(),
            _ => None,
        }
        .unwrap_or(0);
        let n = items.len();
        for (idx, e) in items.iter().enumerate() {
            for c in &e.lead {
                self.comment(*c, inner);
            }
            if e.nodes.first().is_some_and(|n| n.first().nl_before > 1) && e.lead.is_empty() && idx > 0 {
                self.blank();
            }
            self.newline(inner);
            let comma = match g.kind {
                GroupKind::Record | GroupKind::Select | GroupKind::List => true,
                GroupKind::Paren => idx + 1 < n,
                GroupKind::Options | GroupKind::Route | GroupKind::Test => false,
            };
            let tail = usize::from(comma);
            if g.kind == GroupKind::Options && is_option(e) {
                let key = e.nodes[0].first();
                self.write(key, key, &format!("{:<key_width$}", key.text), inner + 2);
                self.seq(&e.nodes[1..], &[], tail, inner + 2);
            } else if let (GroupKind::Route, Some(cond)) = (g.kind, route_cond(e)) {
                let arrow = e.nodes.iter().position(|n| n.is("=>")).unwrap_or(0);
                let first = e.nodes[0].first();
                let last = e.nodes[arrow - 1].last();
                self.write(first, last, &format!("{cond:<key_width$}"), inner + 2);
                self.seq(&e.nodes[arrow..], &[], tail, inner + 2);
            } else {
                self.seq(&e.nodes, &[], tail, inner + 2);
            }
            if comma {
                let t = e.nodes.last().map(|n| n.last()).unwrap_or(g.open);
                self.write(comma_tok(t), comma_tok(t), ",", inner + 2);
            }
            for c in &e.trail {
                self.comment(*c, inner);
            }
        }
        for c in &closing {
            self.comment(*c, inner);
        }
        self.newline(base);
        self.write(g.close, g.close, g.close.text, cont);
    }

    fn finish(mut self) -> String {
        self.flush();
        while self.lines.last().is_some_and(|l| l.text.is_empty() && l.comment.is_none()) {
            self.lines.pop();
        }
        align_comments(&mut self.lines);
        let mut out = String::new();
        for line in &self.lines {
            if !line.text.is_empty() || line.comment.is_some() {
                out.push_str(&" ".repeat(line.indent));
            }
            out.push_str(&line.text);
            if let Some(c) = &line.comment {
                if !line.text.is_empty() {
                    out.push_str("  ");
                }
                out.push_str(c);
            }
            out.push('\n');
        }
        out
    }
}

/// A `,` written where none was (same position as `t`, glued).
fn comma_tok(t: Tok<'_>) -> Tok<'static> {
    Tok { kind: Kind::Punct, text: ",", start: t.start, nl_before: 0, space_before: false }
}

fn is_option(e: &Entry<'_, '_>) -> bool {
    e.nodes.len() >= 3
        && e.nodes[0].tok().is_some_and(|t| t.kind == Kind::Word)
        && e.nodes[1].is("=")
        && !e.nodes[0].is_comment()
}

fn route_cond(e: &Entry<'_, '_>) -> Option<String> {
    let arrow = e.nodes.iter().position(|n| n.is("=>"))?;
    if arrow == 0 {
        return None;
    }
    flat(&e.nodes[..arrow])
}

/// End-of-line comments on neighbouring lines of one block start in one column.
fn align_comments(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        let indent = lines[i].indent;
        let mut j = i;
        while j < lines.len()
            && !lines[j].text.is_empty()
            && !lines[j].own
            && lines[j].indent == indent
            && !lines[j].text.contains('\n')
        {
            j += 1;
        }
        if j == i {
            i += 1;
            continue;
        }
        let commented: Vec<usize> = (i..j).filter(|&k| lines[k].comment.is_some()).collect();
        if commented.len() >= 2 {
            let col = commented.iter().map(|&k| width(&lines[k].text)).max().unwrap_or(0);
            for &k in &commented {
                let pad = col - width(&lines[k].text);
                lines[k].text.push_str(&" ".repeat(pad));
            }
        }
        i = j;
    }
}

// ---------------------------------------------------------------- statements

fn print_file(toks: &[Tok<'_>], items: &[(usize, usize, bool)]) -> String {
    let mut p = Printer::default();
    let mut i = 0;
    let mut item = 0;
    while i < toks.len() {
        let t = toks[i];
        // Skip items that hold no token (cannot happen for a parsed file, but stay safe).
        while item < items.len() && items[item].1 <= t.start {
            item += 1;
        }
        let in_item = item < items.len() && t.start >= items[item].0 && t.start < items[item].1;
        if !in_item {
            if t.is_comment() {
                p.comment(t, 0);
                i += 1;
                continue;
            }
            // A token outside every statement: print it on a line of its own.
            p.newline(0);
            p.write(t, t, t.text, 2);
            i += 1;
            continue;
        }
        let (_, end, is_flow) = items[item];
        let mut j = i;
        while j < toks.len() && toks[j].start < end {
            j += 1;
        }
        if t.nl_before > 1 {
            p.blank();
        }
        p.newline(0);
        let nodes = tree(&toks[i..j]);
        let refs: Vec<&Node<'_>> = nodes.iter().collect();
        if is_flow {
            let breaks = flow_breaks(&refs);
            p.seq(&refs, &breaks, 0, 2);
        } else {
            p.seq(&refs, &[], 0, 2);
        }
        i = j;
        item += 1;
    }
    p.finish()
}

/// Where a pipeline's lines break: before a `|` or `->` its author broke the line at (indent 2), and
/// before an `and`/`or` likewise (indent 4).
fn flow_breaks(nodes: &[&Node<'_>]) -> Vec<Option<usize>> {
    let mut out = vec![None; nodes.len()];
    for k in 1..nodes.len() {
        let Some(t) = nodes[k].tok() else { continue };
        let indent = match (t.kind, t.text) {
            (Kind::Punct, "|" | "->") => 2,
            (Kind::Word, "and" | "or") => 4,
            _ => continue,
        };
        let next_nl = nodes.get(k + 1).is_some_and(|n| n.first().nl_before > 0);
        if t.nl_before > 0 || next_nl {
            out[k] = Some(indent);
        }
    }
    // A line still too long breaks before each of its `|`, and before the `->` after the last one.
    let mut start = 0;
    while start < nodes.len() {
        let end = (start + 1..nodes.len()).find(|&k| out[k].is_some()).unwrap_or(nodes.len());
        let indent = out[start].unwrap_or(0);
        let too_long = flat(&nodes[start..end]).is_some_and(|text| indent + width(&text) > MAX_WIDTH);
        if too_long {
            let mut in_stage = false;
            for k in start + 1..end {
                if nodes[k].is("|") {
                    out[k] = Some(2);
                    in_stage = true;
                } else if nodes[k].is("->") && in_stage && nodes[k - 1].tok().is_none_or(|t| t.text != "else") {
                    out[k] = Some(2);
                    in_stage = false;
                }
            }
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests;
