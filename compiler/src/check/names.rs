//! Name resolution: the declarations of a file, duplicates, and declared types resolved to `Type`s.

use super::Ctx;
use crate::ast::{self, NodeRole, TypeExpr, TypeExprKind};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::types::{Field, RecordType, Type, BUILTIN_TYPES};
use std::collections::{HashMap, HashSet};

/// What a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclKind {
    Type,
    Topic,
    Source,
    Channel,
    Sink,
}

impl DeclKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DeclKind::Type => "a type",
            DeclKind::Topic => "a topic",
            DeclKind::Source => "a source",
            DeclKind::Channel => "a channel",
            DeclKind::Sink => "a sink",
        }
    }

    pub(crate) fn from_role(role: NodeRole) -> DeclKind {
        match role {
            NodeRole::Source => DeclKind::Source,
            NodeRole::Channel => DeclKind::Channel,
            NodeRole::Sink => DeclKind::Sink,
        }
    }
}

/// Every declared name of the file.
#[derive(Default)]
pub(crate) struct Scope {
    pub(crate) decls: HashMap<String, (DeclKind, Span)>,
    /// Declared types, resolved (`Type::Error` where resolution failed).
    pub(crate) types: HashMap<String, Type>,
    pub(crate) used_types: HashSet<String>,
    /// Names declared by statements that did not parse: already reported, never reported again.
    pub(crate) broken: HashSet<String>,
}

impl Scope {
    pub(crate) fn kind_of(&self, name: &str) -> Option<DeclKind> {
        self.decls.get(name).map(|(kind, _)| *kind)
    }

    /// Reports an undefined name, suggesting a declared name of an accepted kind; returns the suggestion.
    pub(crate) fn undefined(
        &self,
        ctx: &mut Ctx,
        name: &ast::Ident,
        wanted: &[DeclKind],
        what: &str,
    ) -> Option<String> {
        let candidates = self.decls.iter().filter(|(_, (kind, _))| wanted.contains(kind)).map(|(n, _)| n.as_str());
        let mut candidates: Vec<&str> = candidates.collect();
        candidates.sort();
        let close = did_you_mean(&name.name, candidates.iter().copied());
        let help = match close {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("declare it first, e.g. `sink {} = logger {{}}`", name.name),
        };
        ctx.diags.push(
            Diagnostic::error(codes::E0202, format!("`{}` is not declared", name.name))
                .at(name.span, format!("no {} is named `{}`", what.replace("a ", "").replace("an ", ""), name.name))
                .help(help),
        );
        close.map(str::to_string)
    }
}

/// Collects declarations, reporting duplicates, then resolves declared types.
pub(crate) fn collect(ctx: &mut Ctx, file: &ast::File) -> Scope {
    let mut scope = Scope::default();
    let mut type_decls: HashMap<String, &ast::TypeDecl> = HashMap::new();
    for item in &file.items {
        let (name, kind) = match item {
            ast::Item::Type(decl) => (&decl.name, DeclKind::Type),
            ast::Item::Topic(decl) => (&decl.name, DeclKind::Topic),
            ast::Item::Node(decl) => (&decl.name, DeclKind::from_role(decl.role)),
            ast::Item::Flow(_) | ast::Item::Tests(_) | ast::Item::Test(_) => continue,
        };
        if let Some((first_kind, first_span)) = scope.decls.get(&name.name) {
            ctx.diags.push(
                Diagnostic::error(codes::E0201, format!("`{}` is declared twice", name.name))
                    .at(name.span, format!("`{}` declared again here", name.name))
                    .also(*first_span, format!("first declared here as {}", first_kind.describe()))
                    .help("every type, topic, source, channel and sink needs its own name; rename one of them"),
            );
            continue;
        }
        scope.decls.insert(name.name.clone(), (kind, name.span));
        if let ast::Item::Type(decl) = item {
            type_decls.insert(name.name.clone(), decl);
        }
    }
    for stmt in &file.broken {
        if let Some(name) = &stmt.declares {
            scope.broken.insert(name.name.clone());
        }
        scope.used_types.extend(stmt.mentions.iter().map(|m| m.name.clone()));
    }
    let broken = scope.broken.clone();
    let mut resolver =
        TypeResolver { decls: &type_decls, done: HashMap::new(), in_progress: Vec::new(), broken: &broken };
    let mut names: Vec<&String> = type_decls.keys().collect();
    names.sort_by_key(|n| type_decls[*n].span.start);
    for name in names {
        let ty = resolver.named(ctx, name, None, &mut scope.used_types);
        scope.types.insert(name.clone(), ty);
    }
    scope
}

struct TypeResolver<'a> {
    decls: &'a HashMap<String, &'a ast::TypeDecl>,
    done: HashMap<String, Type>,
    in_progress: Vec<String>,
    broken: &'a HashSet<String>,
}

impl TypeResolver<'_> {
    fn named(&mut self, ctx: &mut Ctx, name: &str, used_at: Option<Span>, used: &mut HashSet<String>) -> Type {
        if let Some(ty) = self.done.get(name) {
            return ty.clone();
        }
        let decl = self.decls[name];
        if self.in_progress.iter().any(|n| n == name) {
            let chain = self.in_progress.join(" → ");
            let mut diag = Diagnostic::error(codes::E0206, format!("type `{name}` contains itself"))
                .at(used_at.unwrap_or(decl.name.span), format!("`{name}` used inside its own definition"))
                .help(format!(
                    "a record cannot contain itself, not even inside a list or an optional ({chain} → {name}): \
                     declare the inner record as its own type with only the fields it needs"
                ));
            diag = diag.also(decl.name.span, "declared here");
            ctx.diags.push(diag);
            return Type::Error;
        }
        self.in_progress.push(name.to_string());
        let ty = self.resolve(ctx, &decl.ty, used);
        self.in_progress.pop();
        self.done.insert(name.to_string(), ty.clone());
        ty
    }

    fn resolve(&mut self, ctx: &mut Ctx, expr: &TypeExpr, used: &mut HashSet<String>) -> Type {
        match &expr.kind {
            TypeExprKind::Name(ident) => {
                if let Some(ty) = Type::builtin(&ident.name) {
                    return ty;
                }
                if let Some(ty) = self.done.get(&ident.name) {
                    used.insert(ident.name.clone());
                    return ty.clone();
                }
                if self.decls.contains_key(&ident.name) {
                    used.insert(ident.name.clone());
                    return self.named(ctx, &ident.name, Some(ident.span), used);
                }
                if !self.broken.contains(&ident.name) {
                    let declared = self.decls.keys().chain(self.done.keys()).map(String::as_str);
                    ctx.diags.push(unknown_type(ident, declared));
                }
                Type::Error
            }
            TypeExprKind::List(item) => Type::List(Box::new(self.resolve(ctx, item, used))),
            TypeExprKind::Optional(inner) => Type::Optional(Box::new(self.resolve(ctx, inner, used))),
            TypeExprKind::Record(fields) => {
                let mut record = RecordType::default();
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for field in fields {
                    if let Some(first) = seen.get(field.name.name.as_str()) {
                        ctx.diags.push(
                            Diagnostic::error(codes::E0205, format!("field `{}` is declared twice", field.name.name))
                                .at(field.name.span, "declared again here")
                                .also(*first, "first declared here")
                                .help("remove one of the two, or rename it"),
                        );
                        continue;
                    }
                    seen.insert(&field.name.name, field.name.span);
                    let ty = self.resolve(ctx, &field.ty, used);
                    record.fields.push(Field { name: field.name.name.clone(), ty });
                }
                Type::Record(record)
            }
        }
    }
}

fn unknown_type<'a>(ident: &ast::Ident, declared: impl Iterator<Item = &'a str>) -> Diagnostic {
    let mut candidates: Vec<&str> = BUILTIN_TYPES.to_vec();
    candidates.extend(declared);
    let help = match did_you_mean(&ident.name, candidates.iter().copied()).or_else(|| common_type_spelling(&ident.name))
    {
        Some(close) => format!("did you mean `{close}`?"),
        None => {
            format!("the builtin types are {}; or declare `type {} = {{ ... }}`", BUILTIN_TYPES.join(", "), ident.name)
        }
    };
    Diagnostic::error(codes::E0203, format!("unknown type `{}`", ident.name))
        .at(ident.span, "no type has this name")
        .help(help)
}

fn common_type_spelling(name: &str) -> Option<&'static str> {
    Some(match name {
        "str" | "String" | "text" => "string",
        "integer" | "i64" | "long" | "number" => "int",
        "double" | "f64" => "float",
        "boolean" => "bool",
        "datetime" | "time" | "date" => "timestamp",
        _ => return None,
    })
}

/// Resolves a type written inline (a topic's or a `parse ... as` target).
pub(crate) fn resolve_inline(ctx: &mut Ctx, scope: &mut Scope, expr: &TypeExpr) -> Type {
    let decls: HashMap<String, &ast::TypeDecl> = HashMap::new();
    match &expr.kind {
        TypeExprKind::Name(ident) => {
            if let Some(ty) = scope.types.get(&ident.name) {
                scope.used_types.insert(ident.name.clone());
                return ty.clone();
            }
            if let Some(ty) = Type::builtin(&ident.name) {
                return ty;
            }
            if !scope.broken.contains(&ident.name) {
                ctx.diags.push(unknown_type(ident, scope.types.keys().map(String::as_str)));
            }
            Type::Error
        }
        _ => {
            // Inline records may refer to declared types by name: resolve against the scope.
            let broken = scope.broken.clone();
            let mut resolver =
                TypeResolver { decls: &decls, done: scope.types.clone(), in_progress: Vec::new(), broken: &broken };
            let mut used = std::mem::take(&mut scope.used_types);
            let ty = resolver.resolve(ctx, expr, &mut used);
            scope.used_types = used;
            ty
        }
    }
}
