//! Editor features over the checker, free of any protocol: a [`Document`] is a text and what the checker
//! found in it; each feature takes a byte offset and returns plain structs with byte spans.
//!
//! The language server (`crate::lsp`) is the only module that knows LSP; it converts positions with
//! [`LineIndex`] at its edge. Every feature works on half-typed text: the checker never fails, a
//! statement that does not parse is kept as a `BrokenStmt` (its declared name and mentions), and the
//! completion context is read from the text itself.

mod completion;
mod definition;
mod formatting;
mod hover;
mod line_index;
mod symbols;
mod tests_file;

pub use completion::{completions, Completion, CompletionKind};
pub use definition::{definition, prepare_rename, references, rename, RenameError, TextEdit};
pub use formatting::format;
pub use hover::{hover, Hover};
pub use line_index::{LineCol, LineIndex};
pub use symbols::{document_symbols, Symbol, SymbolKind};
pub use tests_file::{document_at, file_path, named_pipeline};

use flowc_compiler::ast::{self, Expr, ExprKind, Item, NodeRole, Stage, Target, TransformKind, TypeExpr, TypeExprKind};
use flowc_compiler::builtins::{ConnectorSig, FormatSig, FunctionSig, ParamSig, ParamType, Registry, Role};
use flowc_compiler::{Analysis, Diagnostic, FileId, Span};

/// One open file: its text, the checker's analysis of it, and where each name occurs.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub analysis: Analysis,
    pub line_index: LineIndex,
    pub registry: &'static Registry,
    occurrences: Vec<Occurrence>,
    declarations: Vec<Declaration>,
}

/// A name in the text and what it stands for.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    pub(crate) span: Span,
    pub(crate) what: Sym,
}

#[derive(Debug, Clone)]
pub(crate) enum Sym {
    /// The name in a declaration (`source web = …`).
    Decl(String),
    /// A use of a declared name (`web -> c1`, `sinks = [k1]`, `parse json as Access`).
    Ref(String),
    /// A connector kind after `=` in a node declaration.
    Kind(&'static ConnectorSig),
    /// An option key, with the signature it was checked against.
    Option(&'static ParamSig),
    Format(&'static FormatSig),
    /// `test`, `tests`, `input` or `expect` where it begins a test statement or entry.
    TestWord(&'static str),
    Function(&'static FunctionSig),
    /// A field read in an expression: the path up to and including it, and the span of the graph node
    /// (transform or route) whose input it reads.
    Field {
        path: Vec<String>,
        node: Span,
    },
}

/// A declared name: a type, topic, source, channel or sink.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub name: String,
    pub name_span: Span,
    pub kind: DeclKind,
    /// The whole statement (the broken statement's span when it did not parse).
    pub span: Span,
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    Type,
    Topic,
    Source,
    Channel,
    Sink,
    /// Declared by a statement that does not parse yet.
    Broken,
}

impl DeclKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclKind::Type => "type",
            DeclKind::Topic => "topic",
            DeclKind::Source => "source",
            DeclKind::Channel => "channel",
            DeclKind::Sink => "sink",
            DeclKind::Broken => "declaration",
        }
    }
}

impl Document {
    /// Checks `text` against the standard library's registry.
    pub fn new(text: impl Into<String>) -> Document {
        Document::with_registry(text, flowc_stdlib::registry())
    }

    pub fn with_registry(text: impl Into<String>, registry: &'static Registry) -> Document {
        let text = text.into();
        let analysis = flowc_compiler::analyze(FileId(0), &text, registry);
        let line_index = LineIndex::new(&text);
        let mut walker = Walker { registry, occurrences: Vec::new(), declarations: Vec::new() };
        walker.file(&analysis.ast);
        let Walker { mut occurrences, declarations, .. } = walker;
        let declared: std::collections::HashSet<&str> = declarations.iter().map(|d| d.name.as_str()).collect();
        // A bare word that names nothing declared is an enum word or a field, not a reference.
        occurrences.retain(|o| !matches!(&o.what, Sym::Ref(name) if !declared.contains(name.as_str())));
        occurrences.sort_by_key(|o| (o.span.start, o.span.end));
        Document { text, analysis, line_index, registry, occurrences, declarations }
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.analysis.diagnostics
    }

    /// Every declared name, in the order of the text.
    pub fn declarations(&self) -> &[Declaration] {
        &self.declarations
    }

    /// The first declaration of `name`.
    pub fn declaration(&self, name: &str) -> Option<&Declaration> {
        self.declarations.iter().find(|d| d.name == name)
    }

    /// The name at `offset`; a cursor just after a name (`web|`) is on it too.
    pub(crate) fn occurrence_at(&self, offset: usize) -> Option<&Occurrence> {
        let inside = self.occurrences.iter().find(|o| o.span.start <= offset && offset < o.span.end);
        inside.or_else(|| self.occurrences.iter().find(|o| o.span.end == offset && !o.span.is_empty()))
    }

    /// The name the occurrence at `offset` declares or refers to, if it is a declared name.
    pub(crate) fn name_at(&self, offset: usize) -> Option<(&str, Span)> {
        match &self.occurrence_at(offset)?.what {
            Sym::Decl(name) | Sym::Ref(name) => {
                let occurrence = self.occurrence_at(offset)?;
                Some((name.as_str(), occurrence.span))
            }
            _ => None,
        }
    }

    /// Every span where declared name `name` is written: its declarations and its uses.
    pub(crate) fn occurrences_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (Span, bool)> + 'a {
        self.occurrences.iter().filter_map(move |o| match &o.what {
            Sym::Decl(n) if n == name => Some((o.span, true)),
            Sym::Ref(n) if n == name => Some((o.span, false)),
            _ => None,
        })
    }
}

/// Collects declarations and name occurrences from the syntax tree.
struct Walker {
    registry: &'static Registry,
    occurrences: Vec<Occurrence>,
    declarations: Vec<Declaration>,
}

impl Walker {
    fn push(&mut self, span: Span, what: Sym) {
        self.occurrences.push(Occurrence { span, what });
    }

    fn declare(&mut self, ident: &ast::Ident, kind: DeclKind, span: Span, doc: &Option<String>) {
        self.push(ident.span, Sym::Decl(ident.name.clone()));
        self.declarations.push(Declaration {
            name: ident.name.clone(),
            name_span: ident.span,
            kind,
            span,
            doc: doc.clone(),
        });
    }

    fn file(&mut self, file: &ast::File) {
        for item in &file.items {
            self.item(item);
        }
        for broken in &file.broken {
            if let Some(ident) = &broken.declares {
                self.declare(ident, DeclKind::Broken, broken.span, &None);
            }
            for ident in &broken.mentions {
                self.push(ident.span, Sym::Ref(ident.name.clone()));
            }
        }
        self.declarations.sort_by_key(|d| d.name_span.start);
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Type(decl) => {
                self.declare(&decl.name, DeclKind::Type, decl.span, &decl.doc);
                self.type_expr(&decl.ty);
            }
            Item::Topic(decl) => {
                self.declare(&decl.name, DeclKind::Topic, decl.span, &decl.doc);
                if let Some(ty) = &decl.ty {
                    self.type_expr(ty);
                }
                self.options(self.registry.topic_params, &decl.options);
            }
            Item::Node(decl) => {
                let (kind, role) = match decl.role {
                    NodeRole::Source => (DeclKind::Source, Role::Source),
                    NodeRole::Channel => (DeclKind::Channel, Role::Channel),
                    NodeRole::Sink => (DeclKind::Sink, Role::Sink),
                };
                self.declare(&decl.name, kind, decl.span, &decl.doc);
                match self.registry.connector(role, &decl.kind.name) {
                    Some(sig) => {
                        self.push(decl.kind.span, Sym::Kind(sig));
                        self.options(sig.params, &decl.options);
                    }
                    None => self.options(&[], &decl.options),
                }
            }
            Item::Tests(decl) => self.push(Span::new(decl.span.start, decl.span.start + 5), Sym::TestWord("tests")),
            Item::Test(block) => {
                self.push(Span::new(block.span.start, block.span.start + 4), Sym::TestWord("test"));
                for entry in &block.entries {
                    let word = match entry.dir {
                        ast::TestDir::Input => "input",
                        ast::TestDir::Expect => "expect",
                    };
                    self.push(Span::new(entry.span.start, entry.span.start + word.len()), Sym::TestWord(word));
                    self.push(entry.node.span, Sym::Ref(entry.node.name.clone()));
                }
            }
            Item::Flow(stmt) => {
                self.push(stmt.head.span, Sym::Ref(stmt.head.name.clone()));
                for stage in &stmt.stages {
                    self.stage(stage);
                }
            }
        }
    }

    fn stage(&mut self, stage: &Stage) {
        match stage {
            Stage::Edge(Target::Node(ident)) => self.push(ident.span, Sym::Ref(ident.name.clone())),
            Stage::Edge(Target::FanOut(idents, _)) => {
                for ident in idents {
                    self.push(ident.span, Sym::Ref(ident.name.clone()));
                }
            }
            Stage::Edge(Target::Group(..)) => {}
            Stage::Edge(Target::Route(arms, span)) => {
                for arm in arms {
                    if let Some(condition) = &arm.condition {
                        self.expr(condition, *span);
                    }
                    for ident in &arm.targets {
                        self.push(ident.span, Sym::Ref(ident.name.clone()));
                    }
                }
            }
            Stage::Pipe(transform) => match &transform.kind {
                TransformKind::Where(expr) => self.expr(expr, transform.span),
                TransformKind::Select(items) => {
                    for item in items {
                        match &item.expr {
                            Some(expr) => self.expr(expr, transform.span),
                            // `select { host }` keeps the input's field.
                            None => self.push(
                                item.name.span,
                                Sym::Field { path: vec![item.name.name.clone()], node: transform.span },
                            ),
                        }
                    }
                }
                TransformKind::Set(assignments) => {
                    for assignment in assignments {
                        self.expr(&assignment.expr, transform.span);
                    }
                }
                TransformKind::Drop(_) => {}
                TransformKind::Parse(parse) => {
                    let format = self.registry.format(&parse.format.name);
                    if let Some(sig) = format {
                        self.push(parse.format.span, Sym::Format(sig));
                    }
                    if let Some(options) = &parse.options {
                        self.options(format.map_or(&[], |f| f.params), options);
                    }
                    self.type_expr(&parse.ty);
                    if let ast::ParsePolicy::DeadLetter(ident) = &parse.policy {
                        self.push(ident.span, Sym::Ref(ident.name.clone()));
                    }
                }
            },
        }
    }

    fn type_expr(&mut self, ty: &TypeExpr) {
        match &ty.kind {
            TypeExprKind::Name(ident) => self.push(ident.span, Sym::Ref(ident.name.clone())),
            TypeExprKind::Record(fields) => {
                for field in fields {
                    self.type_expr(&field.ty);
                }
            }
            TypeExprKind::List(inner) | TypeExprKind::Optional(inner) => self.type_expr(inner),
        }
    }

    fn options(&mut self, params: &'static [ParamSig], options: &ast::Options) {
        for entry in &options.entries {
            let param = params.iter().find(|p| p.name == entry.key.name);
            if let Some(param) = param {
                self.push(entry.key.span, Sym::Option(param));
            }
            self.value(param.map(|p| &p.ty), &entry.value);
        }
    }

    fn value(&mut self, ty: Option<&'static ParamType>, value: &ast::Value) {
        match (&value.kind, ty) {
            (ast::ValueKind::Record(options), Some(ParamType::Record(params))) => self.options(params, options),
            (ast::ValueKind::Record(options), _) => self.options(&[], options),
            (ast::ValueKind::List(items), Some(ParamType::List(item_ty))) => {
                for item in items {
                    self.value(Some(item_ty), item);
                }
            }
            (ast::ValueKind::List(items), None) => {
                for item in items {
                    self.value(None, item);
                }
            }
            // A bare word is a reference where the option names a declared sink or topic; where the
            // option is unknown, only if it names something declared (filtered in `Document::new`).
            (ast::ValueKind::Ident(word), Some(ParamType::SinkRef | ParamType::TopicRef) | None) => {
                self.push(value.span, Sym::Ref(word.clone()));
            }
            _ => {}
        }
    }

    /// An expression evaluated on the input of graph node `node` (a transform or route, by span).
    fn expr(&mut self, expr: &Expr, node: Span) {
        match &expr.kind {
            ExprKind::Call(name, args) => {
                if let Some(sig) = self.registry.function(&name.name) {
                    self.push(name.span, Sym::Function(sig));
                }
                for arg in args {
                    self.expr(arg, node);
                }
            }
            ExprKind::Unary(_, inner) => self.expr(inner, node),
            ExprKind::Binary(_, left, right) => {
                self.expr(left, node);
                self.expr(right, node);
            }
            ExprKind::List(items) => {
                for item in items {
                    self.expr(item, node);
                }
            }
            ExprKind::Path(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    let path = parts[..=i].iter().map(|p| p.name.clone()).collect();
                    self.push(part.span, Sym::Field { path, node });
                }
            }
            ExprKind::Lit(_) => {}
        }
    }
}

/// Whether `word` can be a declared name: an ASCII identifier that is not a keyword.
pub fn is_valid_name(word: &str) -> bool {
    let mut chars = word.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !KEYWORDS.contains(&word)
}

/// The reserved words of the language (docs/language.md, "Names and keywords").
pub use flowc_compiler::syntax::keywords::KEYWORDS;

/// A "did you mean" fix: replace `span` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickFix {
    pub title: String,
    pub span: Span,
    pub replacement: String,
}

/// The fix a diagnostic's help offers, when it says "did you mean `X`?".
///
/// The suggestion may repeat text before the primary span (E0104 points at the unit of `10mins` and
/// suggests `10m`; E0306 points at the policy word and suggests `else drop`): that part is kept.
pub fn quick_fix(text: &str, diagnostic: &Diagnostic) -> Option<QuickFix> {
    let help = diagnostic.help.as_deref()?;
    let rest = help.strip_prefix("did you mean `")?;
    let suggestion = &rest[..rest.find("`?")?];
    let span = diagnostic.primary.span;
    if span.end > text.len() || !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return None;
    }
    let before = &text[..span.start];
    let replacement = if let Some((prefix, word)) = suggestion.rsplit_once(' ') {
        // `else drop` for the word after `else`.
        if !before.trim_end().ends_with(prefix) {
            return None;
        }
        word
    } else {
        // `10m` for the unit of `10mins`: the part of the token before the span is kept.
        let token_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .last()
            .map_or(span.start, |(i, _)| i);
        let kept = &text[token_start..span.start];
        suggestion.strip_prefix(kept).filter(|_| !kept.is_empty()).unwrap_or(suggestion)
    };
    if replacement.is_empty() || &text[span.start..span.end] == replacement {
        return None;
    }
    Some(QuickFix { title: format!("Replace with `{replacement}`"), span, replacement: replacement.to_string() })
}

/// The word (letters, digits, `_`) that ends at `offset`, and where it starts.
pub(crate) fn word_before(text: &str, offset: usize) -> (usize, &str) {
    let offset = flowc_compiler::span::floor_char_boundary(text, offset);
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    (start, &text[start..offset])
}

#[cfg(test)]
pub(crate) mod fixture {
    /// Splits a fixture at its `$0` cursor marker: the text without it, and the cursor's byte offset.
    pub(crate) fn cursor(fixture: &str) -> (String, usize) {
        let offset = fixture.find("$0").expect("the fixture has a $0 cursor");
        (fixture.replacen("$0", "", 1), offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(text: &str) -> Option<String> {
        let doc = Document::new(text);
        let diag = doc.diagnostics().iter().find(|d| quick_fix(text, d).is_some())?;
        let fix = quick_fix(text, diag)?;
        let mut fixed = text.to_string();
        fixed.replace_range(fix.span.start..fix.span.end, &fix.replacement);
        Some(fixed)
    }

    #[test]
    fn did_you_mean_fixes_replace_the_word() {
        assert_eq!(
            fix("source r1 = spoldir { dir = \"spool\" }\nsink k = logger\nr1 -> k\n").as_deref(),
            Some("source r1 = spooldir { dir = \"spool\" }\nsink k = logger\nr1 -> k\n")
        );
        assert_eq!(
            fix("source r1 = tail { path = \"a\" }\nsink k = logger\nr1 -> kk\n").as_deref(),
            Some("source r1 = tail { path = \"a\" }\nsink k = logger\nr1 -> k\n")
        );
    }

    #[test]
    fn did_you_mean_a_unit_keeps_the_number() {
        let text = "source r1 = tail { path = \"a\" }\nchannel c = memory { keep_alive = 10mins }\nsink k = logger\nr1 -> c -> k\n";
        let fixed = fix(text).expect("a fix");
        assert!(fixed.contains("keep_alive = 10m }"), "{fixed}");
    }

    #[test]
    fn keywords_are_not_names() {
        assert!(is_valid_name("web_2"));
        assert!(!is_valid_name("where"));
        assert!(!is_valid_name("2web"));
        assert!(!is_valid_name("日志"));
        assert!(!is_valid_name(""));
    }

    /// Every feature at every offset of half-typed text (with Chinese comments and strings) answers
    /// without panicking.
    #[test]
    fn every_feature_at_every_offset_of_half_typed_text() {
        let texts = [
            "// 访问日志\nsource web = tail { path = \"日志/a.log\" }\nsink out = logger {\n",
            "type A = { host: string, 状态: int }\nsource s = \nweb | parse json as A | where host. -> \n",
            "topic t: { partitions = 3 key = }\nt -> group \"组\" -> [a, \nsink a = files { roll = { size = 1",
            "source r = stdin\nr -> route { line =~ \"x\" => , else => } -> \n/* 未结束的注释",
            "sink k = failover { sinks = [k, k2, ] }\n| | -> -> [ ] { } ( \"",
        ];
        for text in texts {
            let doc = Document::new(text);
            for offset in 0..=text.len() + 1 {
                let _ = hover(&doc, offset);
                let _ = completions(&doc, offset);
                let _ = definition(&doc, offset);
                let _ = references(&doc, offset, true);
                let _ = prepare_rename(&doc, offset);
                let _ = rename(&doc, offset, "renamed");
            }
            let _ = document_symbols(&doc);
            for diag in doc.diagnostics() {
                let _ = quick_fix(text, diag);
            }
        }
    }

    #[test]
    fn half_typed_declarations_are_still_declared() {
        let doc = Document::new("source web = tail {\nsink out = logger\nweb -> out\n");
        assert!(doc.declaration("web").is_some());
        assert!(doc.declaration("out").is_some());
    }
}
