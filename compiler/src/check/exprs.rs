//! Expression typing against the record type flowing into a transform.

use super::errors::unknown_field;
use super::Ctx;
use crate::ast::{BinaryOp, Expr, ExprKind, UnaryOp, ValueKind};
use crate::builtins::Scalar;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::suggest::did_you_mean;
use crate::types::{RecordType, Type};

/// The type of `expr` evaluated on records of type `input`; errors are reported and typed `Error`.
pub(crate) fn type_of(ctx: &mut Ctx, expr: &Expr, input: &RecordType) -> Type {
    match &expr.kind {
        ExprKind::Lit(value) => match value {
            ValueKind::Str(_) => Type::String,
            ValueKind::Int(_) => Type::Int,
            ValueKind::Float(_) => Type::Float,
            ValueKind::Bool(_) => Type::Bool,
            ValueKind::Null => Type::Null,
            ValueKind::Duration(_) => Type::Duration,
            ValueKind::Size(_) => Type::Int,
            _ => Type::Error,
        },
        ExprKind::Path(parts) => {
            let Some((head, rest)) = parts.split_first() else { return Type::Error };
            let Some(field) = input.field(&head.name) else {
                ctx.diags.push(unknown_field(&head.name, head.span, input));
                return Type::Error;
            };
            let mut ty = field.ty.clone();
            let mut prefix = head.name.clone();
            for part in rest {
                ty = match ty.base() {
                    Type::Record(record) => match record.field(&part.name) {
                        Some(f) => f.ty.clone(),
                        None => {
                            let mut diag = unknown_field(&part.name, part.span, record);
                            diag.message = format!("`{prefix}` has no field `{}`", part.name);
                            ctx.diags.push(diag);
                            return Type::Error;
                        }
                    },
                    Type::Error => return Type::Error,
                    other => {
                        ctx.diags.push(
                            Diagnostic::error(
                                codes::E0407,
                                format!("`{prefix}` has type `{other}`, which has no fields"),
                            )
                            .at(part.span, format!("`.{}` needs a record", part.name))
                            .help("only record values have fields"),
                        );
                        return Type::Error;
                    }
                };
                prefix = format!("{prefix}.{}", part.name);
            }
            ty
        }
        ExprKind::List(items) => {
            let mut item_ty = Type::Error;
            for item in items {
                let ty = type_of(ctx, item, input);
                if item_ty.is_error() {
                    item_ty = ty;
                } else if !item_ty.comparable(&ty) {
                    ctx.diags.push(
                        Diagnostic::error(codes::E0411, "list items have different types")
                            .at(item.span, format!("this is `{ty}`"))
                            .help(format!("every item of the list must be `{item_ty}`")),
                    );
                }
            }
            Type::List(Box::new(item_ty))
        }
        ExprKind::Call(name, args) => {
            let arg_types: Vec<Type> = args.iter().map(|a| type_of(ctx, a, input)).collect();
            let Some(sig) = ctx.registry.function(&name.name) else {
                let help = match did_you_mean(&name.name, ctx.registry.functions.iter().map(|f| f.name)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "the functions are: {}",
                        ctx.registry.functions.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    ),
                };
                ctx.diags.push(
                    Diagnostic::error(codes::E0404, format!("unknown function `{}`", name.name))
                        .at(name.span, "no function has this name")
                        .help(help),
                );
                return Type::Error;
            };
            if args.len() != sig.params.len() {
                let params: Vec<String> = sig.params.iter().map(|p| scalar_type(*p).to_string()).collect();
                ctx.diags.push(
                    Diagnostic::error(
                        codes::E0405,
                        format!(
                            "`{}` takes {} argument{}, but {} given",
                            sig.name,
                            sig.params.len(),
                            plural(sig.params.len()),
                            args.len()
                        ),
                    )
                    .at(expr.span, format!("called with {} argument{}", args.len(), plural(args.len())))
                    .help(format!("call it as `{}({})`: {}", sig.name, params.join(", "), sig.doc)),
                );
                return scalar_type(sig.returns);
            }
            for ((arg, ty), param) in args.iter().zip(&arg_types).zip(sig.params) {
                if *param != Scalar::Any && !scalar_type(*param).accepts(ty.base()) && !ty.is_error() {
                    ctx.diags.push(
                        Diagnostic::error(
                            codes::E0406,
                            format!("argument of `{}` must be `{}`", sig.name, scalar_type(*param)),
                        )
                        .at(arg.span, format!("this is `{ty}`"))
                        .help(conversion_help(ty, *param)),
                    );
                }
            }
            scalar_type(sig.returns)
        }
        ExprKind::Unary(op, operand) => {
            let ty = type_of(ctx, operand, input);
            match op {
                UnaryOp::Not if !matches!(ty.base(), Type::Bool | Type::Error) => {
                    ctx.diags.push(operator_error("not", &operand.span, &ty, "`not` needs a boolean"));
                    Type::Error
                }
                UnaryOp::Neg if !matches!(ty.base(), Type::Int | Type::Float | Type::Duration | Type::Error) => {
                    ctx.diags.push(operator_error("-", &operand.span, &ty, "negation needs a number"));
                    Type::Error
                }
                _ => ty,
            }
        }
        ExprKind::Binary(op, left, right) => binary(ctx, *op, left, right, input),
    }
}

fn binary(ctx: &mut Ctx, op: BinaryOp, left: &Expr, right: &Expr, input: &RecordType) -> Type {
    let lt = type_of(ctx, left, input);
    let rt = type_of(ctx, right, input);
    if lt.is_error() || rt.is_error() {
        return match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => Type::Error,
            _ => Type::Bool,
        };
    }
    let (l, r) = (lt.base(), rt.base());
    match op {
        BinaryOp::And | BinaryOp::Or => {
            for (side, ty) in [(left, &lt), (right, &rt)] {
                if !matches!(ty.base(), Type::Bool) {
                    ctx.diags.push(operator_error(
                        op.as_str(),
                        &side.span,
                        ty,
                        &format!("`{}` needs booleans on both sides", op.as_str()),
                    ));
                }
            }
            Type::Bool
        }
        BinaryOp::Eq | BinaryOp::Ne => {
            if !lt.comparable(&rt) {
                ctx.diags.push(incomparable(op, left, &lt, right, &rt));
            }
            Type::Bool
        }
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordered = (l.is_numeric() && r.is_numeric())
                || matches!(
                    (l, r),
                    (Type::String, Type::String)
                        | (Type::Timestamp, Type::Timestamp)
                        | (Type::Duration, Type::Duration)
                );
            if !ordered {
                ctx.diags.push(incomparable(op, left, &lt, right, &rt));
            }
            Type::Bool
        }
        BinaryOp::Match | BinaryOp::NotMatch => {
            if !matches!(l, Type::String) {
                ctx.diags.push(operator_error(
                    op.as_str(),
                    &left.span,
                    &lt,
                    "regex matching needs a string on the left",
                ));
            }
            match &right.kind {
                ExprKind::Lit(ValueKind::Str(pattern)) => {
                    if let Err(err) = regex::Regex::new(&pattern.value) {
                        ctx.diags.push(super::errors::invalid_regex(right.span, &err));
                    }
                }
                _ => ctx.diags.push(
                    Diagnostic::error(codes::E0409, format!("the right side of `{}` must be a string literal", op.as_str()))
                        .at(right.span, "not a literal pattern")
                        .help("write the pattern in quotes, e.g. `path =~ \"^/api/\"`; patterns are compiled once, before anything runs"),
                ),
            }
            Type::Bool
        }
        BinaryOp::In => {
            match r {
                Type::List(item) if item.comparable(&lt) => {}
                Type::List(item) => ctx.diags.push(
                    Diagnostic::error(codes::E0411, format!("`{lt}` cannot be looked up in a list of `{item}`"))
                        .at(right.span, format!("a list of `{item}`"))
                        .also(left.span, format!("this is `{lt}`"))
                        .help("the list's items must have the same type as the value"),
                ),
                _ => ctx.diags.push(
                    Diagnostic::error(codes::E0411, "`in` needs a list on the right")
                        .at(right.span, format!("this is `{rt}`"))
                        .help("put the values in a list, e.g. `status in [500, 502, 503]`; to compare with one value, use `==`"),
                ),
            }
            Type::Bool
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
            let result = match (op, l, r) {
                (_, Type::Int, Type::Int) => Some(Type::Int),
                (_, Type::Float | Type::Int, Type::Float | Type::Int) => Some(Type::Float),
                (BinaryOp::Add, Type::String, Type::String) => Some(Type::String),
                (BinaryOp::Add | BinaryOp::Sub, Type::Timestamp, Type::Duration) => Some(Type::Timestamp),
                (BinaryOp::Sub, Type::Timestamp, Type::Timestamp) => Some(Type::Duration),
                (BinaryOp::Add | BinaryOp::Sub, Type::Duration, Type::Duration) => Some(Type::Duration),
                _ => None,
            };
            result.unwrap_or_else(|| {
                ctx.diags.push(
                    Diagnostic::error(codes::E0402, format!("`{}` cannot combine `{lt}` and `{rt}`", op.as_str()))
                        .at(right.span, format!("this is `{rt}`"))
                        .also(left.span, format!("this is `{lt}`"))
                        .help(arith_help(op, l, r)),
                );
                Type::Error
            })
        }
    }
}

fn operator_error(op: &str, span: &crate::span::Span, ty: &Type, why: &str) -> Diagnostic {
    Diagnostic::error(codes::E0402, format!("`{op}` cannot be applied to `{ty}`"))
        .at(*span, format!("this is `{ty}`"))
        .help(why.to_string())
}

fn incomparable(op: BinaryOp, left: &Expr, lt: &Type, right: &Expr, rt: &Type) -> Diagnostic {
    let help = match (lt.base(), rt.base()) {
        (Type::Int | Type::Float, Type::String) => {
            "the field is a number: compare it with a number, without quotes (`status == 200`)".to_string()
        }
        (Type::String, Type::Int | Type::Float) => {
            "the field is a string: quote the value, or convert with `to_int(...)`".to_string()
        }
        _ => format!("both sides of `{}` must have the same type", op.as_str()),
    };
    Diagnostic::error(codes::E0408, format!("cannot compare `{lt}` with `{rt}`"))
        .at(right.span, format!("this is `{rt}`"))
        .also(left.span, format!("this is `{lt}`"))
        .help(help)
}

fn arith_help(op: BinaryOp, l: &Type, r: &Type) -> String {
    match (op, l, r) {
        (BinaryOp::Add, Type::String, _) | (BinaryOp::Add, _, Type::String) => {
            "convert the other side with `to_string(...)` to join strings".into()
        }
        _ => "arithmetic needs numbers (or timestamps and durations)".into(),
    }
}

fn conversion_help(ty: &Type, want: Scalar) -> String {
    match (ty.base(), want) {
        (_, Scalar::String) => "convert it with `to_string(...)`".into(),
        (Type::String, Scalar::Int) => "convert it with `to_int(...)`".into(),
        (Type::String, Scalar::Float) => "convert it with `to_float(...)`".into(),
        _ => format!("pass a `{}`", scalar_type(want)),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The value type of a signature scalar.
pub(crate) fn scalar_type(scalar: Scalar) -> Type {
    scalar.value_type()
}

/// Whether the expression reads no field (a constant condition).
pub(crate) fn is_constant(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Lit(_) => true,
        ExprKind::Path(_) | ExprKind::Call(..) => false,
        ExprKind::List(items) => items.iter().all(is_constant),
        ExprKind::Unary(_, e) => is_constant(e),
        ExprKind::Binary(_, a, b) => is_constant(a) && is_constant(b),
    }
}
