//! Types of values and of streams: what flows along each edge of the graph.

use std::fmt;

/// The type of a value (a field, an expression).
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    Int,
    Float,
    Bool,
    Timestamp,
    Bytes,
    Duration,
    Null,
    List(Box<Type>),
    Record(RecordType),
    Optional(Box<Type>),
    /// The type of something already reported as wrong; compatible with everything.
    Error,
}

/// A record: named fields in declaration order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordType {
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Type,
}

/// The type of the records flowing along an edge.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamType {
    pub record: RecordType,
    /// Untyped lines (`{ line: string }` straight from a source), as opposed to a checked record type.
    pub untyped: bool,
    /// The declared type's name, when the record came from one.
    pub name: Option<String>,
}

/// The builtin scalar type names, as written in `.flow` files.
pub const BUILTIN_TYPES: &[&str] = &["string", "int", "float", "bool", "timestamp", "bytes", "duration"];

impl Type {
    pub fn builtin(name: &str) -> Option<Type> {
        Some(match name {
            "string" => Type::String,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "timestamp" => Type::Timestamp,
            "bytes" => Type::Bytes,
            "duration" => Type::Duration,
            _ => return None,
        })
    }

    /// The type without an optional wrapper.
    pub fn base(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner.base(),
            other => other,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self.base(), Type::Error)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.base(), Type::Int | Type::Float | Type::Error)
    }

    /// Whether a value of type `other` may be stored where `self` is expected (or compared to it).
    pub fn accepts(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::Optional(_), Type::Null) => true,
            (Type::Optional(a), Type::Optional(b)) => a.accepts(b),
            (Type::Optional(a), b) => a.accepts(b),
            (Type::List(a), Type::List(b)) => a.accepts(b),
            (Type::Record(a), Type::Record(b)) => a.same_as(b),
            (a, b) => a == b,
        }
    }

    /// Whether two values can be compared with `==`.
    pub fn comparable(&self, other: &Type) -> bool {
        let (a, b) = (self.base(), other.base());
        matches!(a, Type::Null) || matches!(b, Type::Null) || a.accepts(b) || (a.is_numeric() && b.is_numeric())
    }
}

impl RecordType {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Same fields with the same types, in any order.
    pub fn same_as(&self, other: &RecordType) -> bool {
        self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .all(|f| other.field(&f.name).is_some_and(|g| f.ty.accepts(&g.ty) && g.ty.accepts(&f.ty)))
    }

    pub fn without(&self, name: &str) -> RecordType {
        RecordType { fields: self.fields.iter().filter(|f| f.name != name).cloned().collect() }
    }

    pub fn with(&self, name: &str, ty: Type) -> RecordType {
        let mut fields = self.fields.clone();
        match fields.iter_mut().find(|f| f.name == name) {
            Some(field) => field.ty = ty,
            None => fields.push(Field { name: name.to_string(), ty }),
        }
        RecordType { fields }
    }
}

impl StreamType {
    /// `{ line: string }`, untyped.
    pub fn lines() -> StreamType {
        StreamType {
            record: RecordType { fields: vec![Field { name: "line".into(), ty: Type::String }] },
            untyped: true,
            name: None,
        }
    }

    pub fn typed(record: RecordType, name: Option<String>) -> StreamType {
        StreamType { record, untyped: false, name }
    }

    /// Whether a stream of type `other` may flow where `self` is expected.
    pub fn accepts(&self, other: &StreamType) -> bool {
        self.record.same_as(&other.record)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Bytes => f.write_str("bytes"),
            Type::Duration => f.write_str("duration"),
            Type::Null => f.write_str("null"),
            Type::List(item) => write!(f, "[{item}]"),
            Type::Record(record) => write!(f, "{record}"),
            Type::Optional(inner) => write!(f, "{inner}?"),
            Type::Error => f.write_str("<error>"),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{ ")?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", field.name, field.ty)?;
        }
        f.write_str(" }")
    }
}

impl fmt::Display for StreamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, self.untyped) {
            (_, true) => f.write_str("lines"),
            (Some(name), false) => f.write_str(name),
            (None, false) => write!(f, "{}", self.record),
        }
    }
}
