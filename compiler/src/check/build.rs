//! Builds the dataflow graph: one node per declaration, transform, group and route; edges from pipelines.

use super::names::{DeclKind, Scope};
use super::options::{self, FlumeNames};
use super::Ctx;
use crate::ast::{self, Stage, Target, TransformKind};
use crate::builtins::{ParamType, Role};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::graph::{Edge, EdgeKind, Node, NodeKind};
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::types::{StreamType, Type};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, HashSet};

pub(crate) struct Builder<'a> {
    pub(crate) graph: DiGraph<Node, Edge>,
    pub(crate) by_name: HashMap<String, NodeIndex>,
    /// Declarations whose errors were already reported: references to them are not reported again.
    pub(crate) broken: HashSet<String>,
    /// Names mentioned by pipelines that could not be followed: not reported as unconnected.
    pub(crate) excused: HashSet<String>,
    /// Set when a name in the current pipeline could not be resolved.
    aborted: bool,
    /// The option blocks as written, for spans in later checks.
    pub(crate) written_options: HashMap<NodeIndex, &'a ast::Options>,
    /// Declared topic types' spans, for labels.
    pub(crate) topic_type_spans: HashMap<NodeIndex, Span>,
    groups: HashMap<(String, String), NodeIndex>,
    n_transforms: usize,
}

impl<'a> Builder<'a> {
    pub(crate) fn new() -> Builder<'a> {
        Builder {
            graph: DiGraph::new(),
            by_name: HashMap::new(),
            broken: HashSet::new(),
            excused: HashSet::new(),
            aborted: false,
            written_options: HashMap::new(),
            topic_type_spans: HashMap::new(),
            groups: HashMap::new(),
            n_transforms: 0,
        }
    }

    /// Adds the declared sources, channels, sinks and topics.
    pub(crate) fn declare(&mut self, ctx: &mut Ctx, scope: &mut Scope, file: &'a ast::File) {
        for item in &file.items {
            match item {
                ast::Item::Node(decl) => self.declare_node(ctx, scope, decl),
                ast::Item::Topic(decl) => self.declare_topic(ctx, scope, decl),
                _ => {}
            }
        }
        for item in &file.items {
            if let ast::Item::Node(decl) = item {
                self.link_references(ctx, scope, decl);
            }
        }
    }

    fn declare_node(&mut self, ctx: &mut Ctx, scope: &Scope, decl: &'a ast::NodeDecl) {
        if self.by_name.contains_key(&decl.name.name)
            || scope.kind_of(&decl.name.name) != Some(DeclKind::from_role(decl.role))
        {
            return; // a duplicate, already reported
        }
        let role = match decl.role {
            ast::NodeRole::Source => Role::Source,
            ast::NodeRole::Channel => Role::Channel,
            ast::NodeRole::Sink => Role::Sink,
        };
        let Some(connector) = ctx.registry.connector(role, &decl.kind.name) else {
            ctx.diags.push(unknown_kind(ctx, role, &decl.kind));
            self.broken.insert(decl.name.name.clone());
            return;
        };
        let owner = format!("{} {} `{}`", connector.kind, role.as_str(), decl.name.name);
        let options = options::check(ctx, &decl.options, connector.params, FlumeNames::of(connector.flume), &owner);
        let kind = match role {
            Role::Source => NodeKind::Source { connector, options },
            Role::Channel => NodeKind::Channel { connector, options },
            Role::Sink => NodeKind::Sink { connector, options },
        };
        let index =
            self.graph.add_node(Node { name: decl.name.name.clone(), kind, span: decl.name.span, output: None });
        self.by_name.insert(decl.name.name.clone(), index);
        self.written_options.insert(index, &decl.options);
    }

    fn declare_topic(&mut self, ctx: &mut Ctx, scope: &mut Scope, decl: &'a ast::TopicDecl) {
        if self.by_name.contains_key(&decl.name.name) || scope.kind_of(&decl.name.name) != Some(DeclKind::Topic) {
            return;
        }
        let owner = format!("topic `{}`", decl.name.name);
        let options = options::check(
            ctx,
            &decl.options,
            ctx.registry.topic_params,
            FlumeNames::of(ctx.registry.topic_flume),
            &owner,
        );
        let output = match &decl.ty {
            None => Some(StreamType::lines()),
            Some(ty_expr) => match super::names::resolve_inline(ctx, scope, ty_expr) {
                Type::Record(record) => Some(StreamType::typed(record, type_name(ty_expr))),
                Type::Error => None,
                other => {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::E0501,
                            format!("topic `{}` must hold records, not `{other}`", decl.name.name),
                        )
                        .at(ty_expr.span, format!("`{other}` is not a record type"))
                        .help("declare a record type: `topic t: { field: type, ... }` or `type T = { ... }`"),
                    );
                    None
                }
            },
        };
        if let Some(key_entry) = decl.options.entries.iter().find(|e| e.key.name == "key") {
            check_topic_key(ctx, decl, key_entry, output.as_ref());
        }
        let index = self.graph.add_node(Node {
            name: decl.name.name.clone(),
            kind: NodeKind::Topic { options },
            span: decl.name.span,
            output,
        });
        self.by_name.insert(decl.name.name.clone(), index);
        self.written_options.insert(index, &decl.options);
        if let Some(ty) = &decl.ty {
            self.topic_type_spans.insert(index, ty.span);
        }
    }

    /// Options that name other declarations: sink groups' members, `topic` sources and sinks.
    fn link_references(&mut self, ctx: &mut Ctx, scope: &Scope, decl: &ast::NodeDecl) {
        let Some(&index) = self.by_name.get(&decl.name.name) else { return };
        let Some(connector) = self.graph[index].kind.connector() else { return };
        for entry in &decl.options.entries {
            let Some(param) = connector.params.iter().find(|p| p.name == entry.key.name) else { continue };
            let (wanted, values): (DeclKind, Vec<&ast::Value>) = match (&param.ty, &entry.value.kind) {
                (ParamType::TopicRef, _) => (DeclKind::Topic, vec![&entry.value]),
                (ParamType::SinkRef, _) => (DeclKind::Sink, vec![&entry.value]),
                (ParamType::List(ParamType::SinkRef), ast::ValueKind::List(items)) => {
                    (DeclKind::Sink, items.iter().collect())
                }
                (ParamType::List(ParamType::SinkRef), ast::ValueKind::Ident(name)) => {
                    // `sinks = a` was reported as not a list (E0304); `a` is not also "without input".
                    self.excused.insert(name.clone());
                    continue;
                }
                _ => continue,
            };
            for value in values {
                let name = match &value.kind {
                    ast::ValueKind::Ident(name) => name.clone(),
                    ast::ValueKind::Str(s) => s.value.clone(),
                    _ => continue,
                };
                let ident = ast::Ident { name, span: value.span };
                let Some(target) = self.lookup(ctx, scope, &ident, &[wanted]) else { continue };
                match (wanted, self.graph[index].kind.connector().map(|c| c.role)) {
                    (DeclKind::Topic, Some(Role::Source)) => {
                        self.graph.add_edge(target, index, Edge { kind: EdgeKind::Data, ty: None, span: value.span });
                    }
                    (DeclKind::Topic, _) => {
                        self.graph.add_edge(index, target, Edge { kind: EdgeKind::Data, ty: None, span: value.span });
                    }
                    _ if target == index => {
                        ctx.diags.push(
                            Diagnostic::error(codes::E0316, format!("sink group `{}` lists itself", ident.name))
                                .at(value.span, "a group cannot be its own member")
                                .help("list the sinks the group sends to; a sink group is fed, it is not a member"),
                        );
                    }
                    _ => {
                        let first = self
                            .graph
                            .edges_directed(target, petgraph::Direction::Incoming)
                            .find(|e| e.weight().kind == EdgeKind::GroupMember)
                            .map(|e| (e.weight().span, self.graph[petgraph::visit::EdgeRef::source(&e)].name.clone()));
                        if let Some((first_span, first_group)) = first {
                            if first_group == decl.name.name {
                                ctx.diags.push(
                                    Diagnostic::error(
                                        codes::E0316,
                                        format!("sink `{}` is listed twice in `{first_group}`", ident.name),
                                    )
                                    .at(value.span, "listed again here")
                                    .also(first_span, "first listed here")
                                    .help("list each member once; to weight a member, give it its own sink"),
                                );
                                continue;
                            }
                            ctx.diags.push(
                                Diagnostic::error(codes::E0316, format!("sink `{}` is in two sink groups", ident.name))
                                    .at(value.span, "listed again here")
                                    .also(first_span, format!("already a member of `{first_group}` here"))
                                    .help("a sink belongs to at most one sink group; declare a second sink for the other group"),
                            );
                            continue;
                        }
                        self.graph.add_edge(
                            index,
                            target,
                            Edge { kind: EdgeKind::GroupMember, ty: None, span: value.span },
                        );
                    }
                }
            }
        }
    }

    /// Resolves a name used in a pipeline or option to its node.
    pub(crate) fn lookup(
        &mut self,
        ctx: &mut Ctx,
        scope: &Scope,
        ident: &ast::Ident,
        wanted: &[DeclKind],
    ) -> Option<NodeIndex> {
        if self.broken.contains(&ident.name) {
            self.aborted = true;
            return None;
        }
        match scope.kind_of(&ident.name) {
            None => {
                // A misspelling of a declared name: that declaration is not also reported as unused.
                if let Some(close) = scope.undefined(ctx, ident, wanted, &describe_kinds(wanted)) {
                    self.excused.insert(close);
                }
                None
            }
            Some(kind) if !wanted.contains(&kind) => {
                let (_, decl_span) = scope.decls[&ident.name];
                ctx.diags.push(
                    Diagnostic::error(
                        codes::E0204,
                        format!("`{}` is {}, not {}", ident.name, kind.describe(), describe_kinds(wanted)),
                    )
                    .at(ident.span, format!("{} is used here", kind.describe()))
                    .also(decl_span, format!("`{}` is declared as {} here", ident.name, kind.describe()))
                    .help(match kind {
                        DeclKind::Type => {
                            "types describe records; pipelines connect topics, sources, channels and sinks".to_string()
                        }
                        _ => format!("name {} here", describe_kinds(wanted)),
                    }),
                );
                None
            }
            Some(_) => self.by_name.get(&ident.name).copied(),
        }
    }

    /// Adds the edges of one pipeline statement. When it cannot be followed to the end (an error was
    /// reported), the names it mentions are excused from "no input" / "nowhere to go" reports.
    pub(crate) fn flow(&mut self, ctx: &mut Ctx, scope: &Scope, stmt: &ast::FlowStmt) {
        let before = ctx.diags.len();
        self.aborted = false;
        self.follow(ctx, scope, stmt);
        if self.aborted || ctx.diags[before..].iter().any(|d| d.is_error()) {
            self.excused.insert(stmt.head.name.clone());
            for stage in &stmt.stages {
                match stage {
                    Stage::Edge(Target::Node(ident)) => {
                        self.excused.insert(ident.name.clone());
                    }
                    Stage::Edge(Target::FanOut(idents, _)) => {
                        self.excused.extend(idents.iter().map(|i| i.name.clone()));
                    }
                    Stage::Edge(Target::Route(arms, _)) => {
                        self.excused.extend(arms.iter().flat_map(|a| a.targets.iter().map(|i| i.name.clone())));
                    }
                    _ => {}
                }
            }
        }
    }

    fn follow(&mut self, ctx: &mut Ctx, scope: &Scope, stmt: &ast::FlowStmt) {
        let nodes = [DeclKind::Topic, DeclKind::Source, DeclKind::Channel, DeclKind::Sink];
        let Some(mut current) = self.lookup(ctx, scope, &stmt.head, &nodes) else { return };
        let mut ended: Option<(Span, &str)> = None;
        for stage in &stmt.stages {
            let stage_span = stage_span(stage);
            if let Some((end_span, what)) = ended {
                ctx.diags.push(
                    Diagnostic::error(codes::E0110, format!("nothing may follow a {what}"))
                        .at(stage_span, "this stage follows it")
                        .also(end_span, format!("the {what} ends the pipeline here"))
                        .help(format!("start a new pipeline from each target of the {what} instead")),
                );
                return;
            }
            match stage {
                Stage::Edge(Target::Node(ident)) => {
                    let Some(next) = self.lookup(ctx, scope, ident, &nodes) else { return };
                    if !self.connect(ctx, current, next, ident.span, EdgeKind::Data) {
                        return;
                    }
                    current = next;
                }
                Stage::Edge(Target::FanOut(idents, span)) => {
                    for ident in idents {
                        if let Some(next) = self.lookup(ctx, scope, ident, &nodes) {
                            self.connect(ctx, current, next, ident.span, EdgeKind::Data);
                        }
                    }
                    ended = Some((*span, "fan-out"));
                }
                Stage::Edge(Target::Group(group, span)) => {
                    if !matches!(self.graph[current].kind, NodeKind::Topic { .. }) {
                        let node = &self.graph[current];
                        ctx.diags.push(
                            Diagnostic::error(codes::E0604, format!("`{}` is not a topic, so it has no consumer groups", node.name))
                                .at(*span, "consumer group used here")
                                .also(node.span, format!("`{}` is a {}", node.name, node.kind.role()))
                                .help("consume a topic as a group: `my_topic -> group \"A\" -> sink`; to share a channel's events among sinks, feed a `load_balance` sink group"),
                        );
                        return;
                    }
                    let topic = self.graph[current].name.clone();
                    let key = (topic.clone(), group.clone());
                    let next = match self.groups.get(&key) {
                        Some(&index) => index,
                        None => {
                            let name = format!("{topic}@{group}");
                            let index = self.graph.add_node(Node {
                                name,
                                kind: NodeKind::Group { topic, group: group.clone() },
                                span: *span,
                                output: None,
                            });
                            self.graph.add_edge(current, index, Edge { kind: EdgeKind::Data, ty: None, span: *span });
                            self.groups.insert(key, index);
                            index
                        }
                    };
                    current = next;
                }
                Stage::Edge(Target::Route(arms, span)) => {
                    let route = self.add_internal(current, NodeKind::Route(arms.clone()), *span, "route");
                    if !self.connect(ctx, current, route, *span, EdgeKind::Data) {
                        return;
                    }
                    for (i, arm) in arms.iter().enumerate() {
                        for ident in &arm.targets {
                            if let Some(next) = self.lookup(ctx, scope, ident, &nodes) {
                                self.connect(ctx, route, next, ident.span, EdgeKind::RouteArm(i));
                            }
                        }
                    }
                    ended = Some((*span, "route"));
                }
                Stage::Pipe(transform) => {
                    let node = self.add_internal(current, NodeKind::Transform(transform.clone()), transform.span, "");
                    if !self.connect(ctx, current, node, transform.span, EdgeKind::Data) {
                        return;
                    }
                    if let TransformKind::Parse(parse) = &transform.kind {
                        if let ast::ParsePolicy::DeadLetter(target) = &parse.policy {
                            let wanted = [DeclKind::Topic, DeclKind::Sink, DeclKind::Channel];
                            if let Some(dead) = self.lookup(ctx, scope, target, &wanted) {
                                self.connect(ctx, node, dead, target.span, EdgeKind::DeadLetter);
                            }
                        }
                    }
                    current = node;
                }
            }
        }
    }

    fn add_internal(&mut self, from: NodeIndex, kind: NodeKind, span: Span, role: &str) -> NodeIndex {
        self.n_transforms += 1;
        let role = if role.is_empty() { kind.role() } else { role };
        let name = format!("{}|{}#{}", self.graph[from].name, role, self.n_transforms);
        self.graph.add_node(Node { name, kind, span, output: None })
    }

    /// Adds an edge if the roles allow it; reports E0602/E0603 otherwise.
    fn connect(&mut self, ctx: &mut Ctx, from: NodeIndex, to: NodeIndex, span: Span, kind: EdgeKind) -> bool {
        let (from_node, to_node) = (&self.graph[from], &self.graph[to]);
        if matches!(from_node.kind, NodeKind::Sink { .. }) {
            ctx.diags.push(
                Diagnostic::error(codes::E0603, format!("sink `{}` has no output to send on", from_node.name))
                    .at(span, "an edge leaves the sink here")
                    .also(from_node.span, "declared as a sink here")
                    .help(
                        "a sink is the end of a pipeline; to pass records on, write them to a topic and read the topic",
                    ),
            );
            return false;
        }
        if matches!(to_node.kind, NodeKind::Source { .. }) {
            ctx.diags.push(
                Diagnostic::error(codes::E0602, format!("source `{}` cannot receive records", to_node.name))
                    .at(span, "an edge enters the source here")
                    .also(to_node.span, "declared as a source here")
                    .help("sources only produce; send records to a channel, topic or sink instead"),
            );
            return false;
        }
        self.graph.add_edge(from, to, Edge { kind, ty: None, span });
        true
    }
}

fn stage_span(stage: &Stage) -> Span {
    match stage {
        Stage::Pipe(t) => t.span,
        Stage::Edge(Target::Node(i)) => i.span,
        Stage::Edge(Target::FanOut(_, s) | Target::Group(_, s) | Target::Route(_, s)) => *s,
    }
}

fn type_name(expr: &ast::TypeExpr) -> Option<String> {
    match &expr.kind {
        ast::TypeExprKind::Name(ident) => Some(ident.name.clone()),
        _ => None,
    }
}

fn describe_kinds(kinds: &[DeclKind]) -> String {
    let words: Vec<&str> = kinds.iter().map(|k| k.describe()).collect();
    match words.as_slice() {
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => "anything".into(),
    }
}

fn unknown_kind(ctx: &Ctx, role: Role, kind: &ast::Ident) -> Diagnostic {
    let names: Vec<&str> = ctx.registry.connectors_of(role).map(|c| c.kind).collect();
    let elsewhere = [Role::Source, Role::Channel, Role::Sink]
        .into_iter()
        .find(|r| *r != role && ctx.registry.connector(*r, &kind.name).is_some());
    let flume =
        ctx.registry.connectors_of(role).find(|c| c.flume_name().is_some_and(|f| f.eq_ignore_ascii_case(&kind.name)));
    let help = if let Some(close) = did_you_mean(&kind.name, names.iter().copied()) {
        format!("did you mean `{close}`?")
    } else if let Some(sig) = flume {
        format!("Flume's `{}` is flowc's `{}`", kind.name, sig.kind)
    } else if let Some(other) = elsewhere {
        format!(
            "`{}` is a {}, not a {}; the {}s are: {}",
            kind.name,
            other.as_str(),
            role.as_str(),
            role.as_str(),
            names.join(", ")
        )
    } else {
        format!("the {}s are: {}", role.as_str(), names.join(", "))
    };
    Diagnostic::error(codes::E0301, format!("unknown {} kind `{}`", role.as_str(), kind.name))
        .at(kind.span, format!("no {} is called `{}`", role.as_str(), kind.name))
        .help(help)
}

fn check_topic_key(ctx: &mut Ctx, decl: &ast::TopicDecl, entry: &ast::OptionEntry, ty: Option<&StreamType>) {
    let name = match &entry.value.kind {
        ast::ValueKind::Ident(n) => n.as_str(),
        ast::ValueKind::Str(s) => s.value.as_str(),
        _ => return,
    };
    let Some(stream) = ty else { return };
    if stream.untyped {
        ctx.diags.push(
            Diagnostic::error(
                codes::E0503,
                format!("topic `{}` has no type, so `{name}` is not a field of it", decl.name.name),
            )
            .at(entry.value.span, "key names a field")
            .also(decl.name.span, "this topic holds untyped lines")
            .help(format!("declare the topic's record type: `topic {}: MyType {{ key = {name} }}`", decl.name.name)),
        );
        return;
    }
    match stream.record.field(name) {
        None => {
            let help = match did_you_mean(name, stream.record.field_names()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "the fields of `{stream}` are: {}",
                    stream.record.field_names().collect::<Vec<_>>().join(", ")
                ),
            };
            let mut diag =
                Diagnostic::error(codes::E0503, format!("`{name}` is not a field of topic `{}`", decl.name.name))
                    .at(entry.value.span, "not a field of the topic's type")
                    .help(help);
            if let Some(ty) = &decl.ty {
                diag = diag.also(ty.span, format!("the topic holds `{stream}`"));
            }
            ctx.diags.push(diag);
        }
        Some(field) if matches!(field.ty.base(), Type::List(_) | Type::Record(_)) => {
            ctx.diags.push(
                Diagnostic::error(codes::E0506, format!("topic key `{name}` has type `{}`", field.ty))
                    .at(entry.value.span, "lists and records cannot be partition keys")
                    .help("key by a scalar field (string, int, …); keys are hashed with murmur2 as Kafka does"),
            );
        }
        Some(_) => {}
    }
}
