//! The syntax tree of a `.flow` file: plain values with spans, no semantic information.

use crate::span::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole file: its statements in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Statements that did not parse (already reported), so later checks stay quiet about them.
    pub broken: Vec<BrokenStmt>,
}

/// What can be salvaged from a statement that did not parse.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrokenStmt {
    /// The name it declares, when it starts like a declaration (`source r1 = …`).
    pub declares: Option<Ident>,
    /// Every other name it mentions.
    pub mentions: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Type(TypeDecl),
    Topic(TopicDecl),
    Node(NodeDecl),
    Flow(FlowStmt),
    /// `tests "pipeline.flow"`: this file holds tests of that pipeline file.
    Tests(TestsDecl),
    /// `test "name" { input … expect … }`
    Test(TestBlock),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Type(decl) => decl.span,
            Item::Topic(decl) => decl.span,
            Item::Node(decl) => decl.span,
            Item::Flow(stmt) => stmt.span,
            Item::Tests(decl) => decl.span,
            Item::Test(block) => block.span,
        }
    }
}

/// `tests "access_log.flow"`: the pipeline file a tests-only file tests (relative to the file).
#[derive(Debug, Clone, PartialEq)]
pub struct TestsDecl {
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

/// `test "parses a line" { input web = ["…"]  expect out = [{ status = 200 }] }`
#[derive(Debug, Clone, PartialEq)]
pub struct TestBlock {
    pub name: String,
    pub name_span: Span,
    pub entries: Vec<TestEntry>,
    pub span: Span,
}

/// One line of a test: events into a node, or the events expected at one.
#[derive(Debug, Clone, PartialEq)]
pub struct TestEntry {
    pub dir: TestDir,
    pub node: Ident,
    /// A list of events: strings (lines) or records (`{ field = value }`).
    pub events: Value,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestDir {
    /// `input`: the node emits these events.
    Input,
    /// `expect`: the events that reach the node, in order.
    Expect,
}

/// `type Access = { host: string, ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    /// A builtin (`string`, `int`, …) or a declared type's name.
    Name(Ident),
    Record(Vec<FieldDecl>),
    List(Box<TypeExpr>),
    Optional(Box<TypeExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// `topic access: Access { partitions = 3 }`
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDecl {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub options: Options,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    Source,
    Channel,
    Sink,
}

/// `source r1 = spooldir { dir = "spool" }`
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDecl {
    pub role: NodeRole,
    pub role_span: Span,
    pub name: Ident,
    pub kind: Ident,
    pub options: Options,
    pub doc: Option<String>,
    pub span: Span,
}

/// `{ key = value, ... }`; also a record value inside options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    pub entries: Vec<OptionEntry>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionEntry {
    pub key: Ident,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Str(StrLit),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A duration in milliseconds.
    Duration(u64),
    /// A size in bytes.
    Size(u64),
    List(Vec<Value>),
    Record(Options),
    /// A bare word: an enum value (`format = parquet`) or a reference (`sinks = [k1, k2]`).
    Ident(String),
    /// A literal the parser already reported as broken.
    Error,
}

impl ValueKind {
    /// How the value's type is named in diagnostics.
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::Str(_) => "a string",
            ValueKind::Int(_) => "an integer",
            ValueKind::Float(_) => "a number",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::Null => "null",
            ValueKind::Duration(_) => "a duration",
            ValueKind::Size(_) => "a size",
            ValueKind::List(_) => "a list",
            ValueKind::Record(_) => "a block",
            ValueKind::Ident(_) => "a name",
            ValueKind::Error => "an invalid value",
        }
    }
}

/// A string literal, unescaped, with the `${NAME}` references it contains.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub env: Vec<Ident>,
}

/// `a -> b | where x -> [c, d]`
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStmt {
    pub head: Ident,
    pub stages: Vec<Stage>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Edge(Target),
    Pipe(Transform),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Node(Ident),
    FanOut(Vec<Ident>, Span),
    /// `group "A"`: consume the topic on the left as consumer group A.
    Group(String, Span),
    Route(Vec<RouteArm>, Span),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteArm {
    /// `None` is the `else` arm.
    pub condition: Option<Expr>,
    pub targets: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub kind: TransformKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransformKind {
    Where(Expr),
    Select(Vec<SelectItem>),
    Set(Vec<Assignment>),
    Drop(Vec<Ident>),
    Parse(Parse),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub name: Ident,
    /// `None` keeps the field as is (`select { host, status }`).
    pub expr: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub name: Ident,
    pub expr: Expr,
}

/// `parse combined as Access else -> bad`
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    pub format: Ident,
    pub pattern: Option<(StrLit, Span)>,
    pub options: Option<Options>,
    pub ty: TypeExpr,
    pub policy: ParsePolicy,
}

impl Parse {
    /// The string field it parses: its `field` option; else `line`, or `value` on a stream that
    /// has `value` and no `line` (the `kafka` source's records). `has` says which fields exist.
    pub fn field(&self, has: impl Fn(&str) -> bool) -> String {
        let written =
            self.options.iter().flat_map(|o| &o.entries).find(|e| e.key.name == "field").and_then(|e| {
                match &e.value.kind {
                    ValueKind::Str(s) => Some(s.value.clone()),
                    ValueKind::Ident(s) => Some(s.clone()),
                    _ => None,
                }
            });
        written.unwrap_or_else(|| if !has("line") && has("value") { "value" } else { "line" }.to_string())
    }
}

/// What happens to a record that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePolicy {
    /// Drop it and count it (the default).
    Drop,
    /// Stop the pipeline with an error.
    Fail,
    /// Send the raw record to this topic or sink.
    DeadLetter(Ident),
    /// A word that is none of the above (reported by the checker).
    Unknown(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(ValueKind),
    /// `a.b.c`
    Path(Vec<Ident>),
    Call(Ident, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NotMatch,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Match => "=~",
            BinaryOp::NotMatch => "!~",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}
