//! Turns pest's pairs into the AST. The only place that sees pest's types besides the parser.

use super::literals;
use super::parser::Rule;
use crate::ast::*;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};

/// Lowers pairs parsed from `source[offset..]`; spans come out absolute.
pub(crate) struct Lowerer<'s> {
    pub(crate) source: &'s str,
    pub(crate) offset: usize,
    pub(crate) diags: Vec<Diagnostic>,
}

impl<'s> Lowerer<'s> {
    /// The pair's span without the white space and comments pest lets a rule swallow at its end
    /// (`a ~ b?` skips the trivia after `a` even when `b` is absent).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let start = s.start() + self.offset;
        Span::new(start, start + super::scan::code_len(pair.as_str()))
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident { name: pair.as_str().to_string(), span: self.span(&pair) }
    }

    pub(crate) fn file(&mut self, pairs: Pairs<'_, Rule>, out: &mut Vec<Item>) {
        for pair in pairs {
            if pair.as_rule() == Rule::file {
                for stmt in pair.into_inner() {
                    if let Some(item) = self.stmt(stmt) {
                        out.push(item);
                    }
                }
            }
        }
    }

    fn stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let span = self.span(&pair);
        let doc = self.doc_before(span.start);
        Some(match pair.as_rule() {
            Rule::type_decl => {
                let mut inner = pair.into_inner();
                inner.next(); // kw_type
                let name = self.ident(inner.next()?);
                let ty = self.type_expr(inner.next()?);
                Item::Type(TypeDecl { name, ty, doc, span })
            }
            Rule::topic_decl => {
                let mut inner = pair.into_inner();
                inner.next(); // kw_topic
                let name = self.ident(inner.next()?);
                let mut ty = None;
                let mut options = Options { entries: Vec::new(), span: Span::new(name.span.end, name.span.end) };
                for part in inner {
                    match part.as_rule() {
                        Rule::type_expr => ty = Some(self.type_expr(part)),
                        Rule::options => options = self.options(part),
                        _ => {}
                    }
                }
                Item::Topic(TopicDecl { name, ty, options, doc, span })
            }
            Rule::node_decl => {
                let mut inner = pair.into_inner();
                let role_pair = inner.next()?;
                let role_span = self.span(&role_pair);
                let role = match role_pair.as_str() {
                    "source" => NodeRole::Source,
                    "channel" => NodeRole::Channel,
                    _ => NodeRole::Sink,
                };
                let name = self.ident(inner.next()?);
                let kind = self.ident(inner.next()?);
                let options = match inner.next() {
                    Some(part) => self.options(part),
                    None => Options { entries: Vec::new(), span: Span::new(kind.span.end, kind.span.end) },
                };
                Item::Node(NodeDecl { role, role_span, name, kind, options, doc, span })
            }
            Rule::flow_stmt => Item::Flow(self.flow(pair)?),
            Rule::tests_decl => {
                let string = pair.into_inner().nth(1)?;
                let path_span = self.span(&string);
                let path = self.string_lit(string).value;
                Item::Tests(TestsDecl { path, path_span, span })
            }
            Rule::test_block => {
                let mut inner = pair.into_inner();
                inner.next(); // kw_test
                let string = inner.next()?;
                let name_span = self.span(&string);
                let name = self.string_lit(string).value;
                let entries = inner.filter_map(|entry| self.test_entry(entry)).collect();
                Item::Test(TestBlock { name, name_span, entries, span })
            }
            _ => return None,
        })
    }

    fn test_entry(&mut self, pair: Pair<'_, Rule>) -> Option<TestEntry> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let dir = match inner.next()?.as_str() {
            "input" => TestDir::Input,
            _ => TestDir::Expect,
        };
        let node = self.ident(inner.next()?);
        let events = self.value(inner.next()?);
        Some(TestEntry { dir, node, events, span })
    }

    /// The `///` lines directly above byte `start`.
    fn doc_before(&self, start: usize) -> Option<String> {
        let before = &self.source[..start];
        let mut lines: Vec<&str> = Vec::new();
        for line in before.lines().rev().skip(usize::from(!before.ends_with('\n'))) {
            let trimmed = line.trim();
            match trimmed.strip_prefix("///") {
                Some(text) => lines.push(text.strip_prefix(' ').unwrap_or(text)),
                None => break,
            }
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let atom = inner.next().expect("grammar: type_expr has an atom");
        let atom_span = self.span(&atom);
        let kind = match atom.as_rule() {
            Rule::record_type => TypeExprKind::Record(
                atom.into_inner()
                    .map(|field| {
                        let mut parts = field.into_inner();
                        let name = self.ident(parts.next().expect("grammar: field name"));
                        let ty = self.type_expr(parts.next().expect("grammar: field type"));
                        FieldDecl { name, ty }
                    })
                    .collect(),
            ),
            Rule::list_type => {
                TypeExprKind::List(Box::new(self.type_expr(atom.into_inner().next().expect("grammar: list item"))))
            }
            _ => TypeExprKind::Name(self.ident(atom.into_inner().next().expect("grammar: type name"))),
        };
        let atom_expr = TypeExpr { kind, span: atom_span };
        if inner.next().is_some() {
            TypeExpr { kind: TypeExprKind::Optional(Box::new(atom_expr)), span }
        } else {
            atom_expr
        }
    }

    fn options(&mut self, pair: Pair<'_, Rule>) -> Options {
        let span = self.span(&pair);
        let mut entries: Vec<OptionEntry> = Vec::new();
        for option in pair.into_inner() {
            let mut parts = option.into_inner();
            let key = self.ident(parts.next().expect("grammar: option key"));
            let value = self.value(parts.next().expect("grammar: option value"));
            if let Some(first) = entries.iter().find(|e| e.key.name == key.name) {
                self.diags.push(
                    Diagnostic::error(codes::E0108, format!("option `{}` is given twice", key.name))
                        .at(key.span, "given again here")
                        .also(first.key.span, "first given here")
                        .help("remove one of them; the checker will not guess which one you meant"),
                );
                continue;
            }
            entries.push(OptionEntry { key, value });
        }
        Options { entries, span }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().expect("grammar: value has one child");
        let kind = match inner.as_rule() {
            Rule::list_value => ValueKind::List(inner.into_inner().map(|v| self.value(v)).collect()),
            Rule::options => ValueKind::Record(self.options(inner)),
            Rule::ident => ValueKind::Ident(inner.as_str().to_string()),
            _ => self.scalar(inner),
        };
        Value { kind, span }
    }

    fn scalar(&mut self, pair: Pair<'_, Rule>) -> ValueKind {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::string => {
                let inner = pair.into_inner().next().expect("grammar: string inner");
                let start = self.span(&inner).start;
                ValueKind::Str(literals::string(inner.as_str(), start, &mut self.diags))
            }
            Rule::quantity => literals::quantity(pair.as_str(), span, &mut self.diags),
            Rule::float => literals::float(pair.as_str(), span, &mut self.diags),
            Rule::int => literals::int(pair.as_str(), span, &mut self.diags),
            Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
            _ => ValueKind::Null,
        }
    }

    fn string_lit(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        match self.scalar(pair) {
            ValueKind::Str(s) => s,
            _ => StrLit { value: String::new(), env: Vec::new() },
        }
    }

    fn flow(&mut self, pair: Pair<'_, Rule>) -> Option<FlowStmt> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let head = self.ident(inner.next()?.into_inner().next()?);
        let mut stages = Vec::new();
        for stage in inner {
            match stage.as_rule() {
                Rule::edge_stage => {
                    let target = stage.into_inner().nth(1)?;
                    stages.push(Stage::Edge(self.target(target)?));
                }
                Rule::pipe_stage => {
                    let transform = stage.into_inner().next()?;
                    stages.push(Stage::Pipe(self.transform(transform)?));
                }
                _ => {}
            }
        }
        Some(FlowStmt { head, stages, span })
    }

    fn node_refs(&self, pair: Pair<'_, Rule>) -> Vec<Ident> {
        match pair.as_rule() {
            Rule::fanout => pair.into_inner().filter_map(|r| r.into_inner().next()).map(|i| self.ident(i)).collect(),
            _ => pair.into_inner().next().map(|i| vec![self.ident(i)]).unwrap_or_default(),
        }
    }

    fn target(&mut self, pair: Pair<'_, Rule>) -> Option<Target> {
        let span = self.span(&pair);
        Some(match pair.as_rule() {
            Rule::group_target => {
                let name = self.string_lit(pair.into_inner().nth(1)?);
                Target::Group(name.value, span)
            }
            Rule::fanout => Target::FanOut(self.node_refs(pair), span),
            Rule::route_block => {
                let mut arms = Vec::new();
                for arm in pair.into_inner().skip(1) {
                    let arm_span = self.span(&arm);
                    let mut parts = arm.into_inner();
                    let first = parts.next()?;
                    let condition = match first.as_rule() {
                        Rule::route_else => None,
                        _ => Some(self.expr(first)),
                    };
                    let targets = self.node_refs(parts.next()?);
                    arms.push(RouteArm { condition, targets, span: arm_span });
                }
                Target::Route(arms, span)
            }
            _ => Target::Node(self.ident(pair.into_inner().next()?)),
        })
    }

    fn transform(&mut self, pair: Pair<'_, Rule>) -> Option<Transform> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        inner.next(); // the keyword
        let kind = match rule {
            Rule::where_t => TransformKind::Where(self.expr(inner.next()?)),
            Rule::select_t => TransformKind::Select(
                inner
                    .map(|item| {
                        let mut parts = item.into_inner();
                        let name = self.ident(parts.next().expect("grammar: select name"));
                        let expr = parts.next().map(|e| self.expr(e));
                        SelectItem { name, expr }
                    })
                    .collect(),
            ),
            Rule::set_t => TransformKind::Set(
                inner
                    .map(|item| {
                        let mut parts = item.into_inner();
                        let name = self.ident(parts.next().expect("grammar: set name"));
                        let expr = self.expr(parts.next().expect("grammar: set expr"));
                        Assignment { name, expr }
                    })
                    .collect(),
            ),
            Rule::drop_t => TransformKind::Drop(inner.map(|f| self.ident(f)).collect()),
            Rule::parse_t => {
                let format = self.ident(inner.next()?);
                let mut pattern = None;
                let mut options = None;
                let mut ty = None;
                let mut policy = ParsePolicy::Drop;
                for part in inner {
                    match part.as_rule() {
                        Rule::string => {
                            let pspan = self.span(&part);
                            pattern = Some((self.string_lit(part), pspan));
                        }
                        Rule::options => options = Some(self.options(part)),
                        Rule::type_expr => ty = Some(self.type_expr(part)),
                        Rule::parse_policy => {
                            let target = part.into_inner().nth(1)?;
                            policy = match target.as_rule() {
                                Rule::dead_letter => ParsePolicy::DeadLetter(
                                    self.ident(target.into_inner().next()?.into_inner().next()?),
                                ),
                                _ => match target.as_str() {
                                    "drop" => ParsePolicy::Drop,
                                    "fail" => ParsePolicy::Fail,
                                    _ => ParsePolicy::Unknown(self.ident(target)),
                                },
                            };
                        }
                        _ => {}
                    }
                }
                TransformKind::Parse(Parse { format, pattern, options, ty: ty?, policy })
            }
            _ => return None,
        };
        Some(Transform { kind, span })
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(pair.into_inner().next().expect("grammar: expr child")),
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr | Rule::cmp_expr => {
                let mut inner = pair.into_inner();
                let mut left = self.expr(inner.next().expect("grammar: left operand"));
                while let Some(op) = inner.next() {
                    let right = self.expr(inner.next().expect("grammar: right operand"));
                    let op = binary_op(op.as_str());
                    let span = left.span.to(right.span);
                    left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span };
                }
                left
            }
            Rule::not_expr => {
                let mut inner = pair.into_inner();
                let first = inner.next().expect("grammar: not_expr child");
                if first.as_rule() == Rule::op_not {
                    let operand = self.expr(inner.next().expect("grammar: not operand"));
                    Expr { kind: ExprKind::Unary(UnaryOp::Not, Box::new(operand)), span }
                } else {
                    self.expr(first)
                }
            }
            Rule::unary => {
                let mut inner = pair.into_inner();
                let first = inner.next().expect("grammar: unary child");
                if first.as_rule() == Rule::op_neg {
                    let operand = self.expr(inner.next().expect("grammar: negated operand"));
                    Expr { kind: ExprKind::Unary(UnaryOp::Neg, Box::new(operand)), span }
                } else {
                    self.expr(first)
                }
            }
            Rule::literal => {
                let inner = pair.into_inner().next().expect("grammar: literal child");
                Expr { kind: ExprKind::Lit(self.scalar(inner)), span }
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.ident(inner.next().expect("grammar: call name"));
                let args = inner.map(|a| self.expr(a)).collect();
                Expr { kind: ExprKind::Call(name, args), span }
            }
            Rule::path => Expr { kind: ExprKind::Path(pair.into_inner().map(|p| self.ident(p)).collect()), span },
            Rule::list_expr => Expr { kind: ExprKind::List(pair.into_inner().map(|e| self.expr(e)).collect()), span },
            _ => Expr { kind: ExprKind::Lit(ValueKind::Error), span },
        }
    }
}

fn binary_op(text: &str) -> BinaryOp {
    match text.trim() {
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "=~" => BinaryOp::Match,
        "!~" => BinaryOp::NotMatch,
        "in" => BinaryOp::In,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}
