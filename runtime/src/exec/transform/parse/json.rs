//! `parse json`: one JSON object per text, read by a typed serde visitor straight into the fields of
//! the checked type (strings borrowed from the text when they hold no escapes, other keys skipped
//! unread), with `serde_json::Value` only as the slow path that decides what the fast one refused.

use super::{parse_time, Step, Val, Why};
use arrow_schema::{DataType, Field, FieldRef, SchemaRef};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// How `parse json` reads objects into a type.
#[derive(Debug)]
pub(crate) struct Json {
    /// The type's field names, sorted, each with its position in the type.
    keys: Vec<(String, usize)>,
}

impl Json {
    pub(crate) fn new(schema: &SchemaRef) -> Json {
        let mut keys: Vec<(String, usize)> =
            schema.fields().iter().enumerate().map(|(i, f)| (f.name().clone(), i)).collect();
        keys.sort();
        Json { keys }
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.keys.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| self.keys[i].1)
    }

    pub(super) fn fill<'a>(&self, text: &'a str, schema: &SchemaRef, row: &mut Vec<Val<'a>>) -> Result<Step, Why> {
        let fields = &schema.fields()[..];
        row.extend(std::iter::repeat_n(Val::Null, fields.len()));
        let mut de = serde_json::Deserializer::from_str(text);
        let fast = ObjectSeed { json: self, fields, row: &mut *row }.deserialize(&mut de).and_then(|()| de.end());
        let fast =
            fast.is_ok() && fields.iter().zip(row.iter()).all(|(f, v)| f.is_nullable() || !matches!(v, Val::Null));
        if fast {
            return Ok(Step::Row);
        }
        row.clear();
        slow(text, fields, row).map(|()| Step::Row)
    }
}

/// The whole object into `row` (one slot per field, null until its key comes; the last of a key
/// written twice wins).
struct ObjectSeed<'j, 'f, 'r, 'a> {
    json: &'j Json,
    fields: &'f [FieldRef],
    row: &'r mut Vec<Val<'a>>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, '_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(KeySeed(self.json))? {
            match slot {
                Some(i) => self.row[i] = map.next_value_seed(ValueSeed(&self.fields[i]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key: the position of the field it names, if the type has one.
struct KeySeed<'j>(&'j Json);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.position(key))
    }
}

/// A value of one field's type; an error when it is not one (the slow path then decides).
struct ValueSeed<'f>(&'f Field);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Val<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn string<'de, E: de::Error>(&self, v: Cow<'de, str>) -> Result<Val<'de>, E> {
        match self.0.data_type() {
            DataType::Utf8 => Ok(Val::Str(v)),
            DataType::Timestamp(..) => parse_time(&v).map(Val::Int).ok_or_else(|| E::custom("not a time")),
            _ => Err(E::custom("a string")),
        }
    }

    fn int<'de, E: de::Error>(&self, v: Option<i64>, f: f64) -> Result<Val<'de>, E> {
        match (self.0.data_type(), v) {
            (DataType::Int64 | DataType::Timestamp(..), Some(v)) => Ok(Val::Int(v)),
            (DataType::Float64, _) => Ok(Val::Float(f)),
            _ => Err(E::custom("a number of another type")),
        }
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a value of type {}", self.0.data_type())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Val<'de>, E> {
        self.string(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val<'de>, E> {
        self.string(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val<'de>, E> {
        self.string(Cow::Owned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val<'de>, E> {
        self.int(Some(v), v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val<'de>, E> {
        self.int(i64::try_from(v).ok(), v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val<'de>, E> {
        match self.0.data_type() {
            DataType::Float64 => Ok(Val::Float(v)),
            _ => Err(E::custom("a float")),
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val<'de>, E> {
        match self.0.data_type() {
            DataType::Boolean => Ok(Val::Bool(v)),
            _ => Err(E::custom("a bool")),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
}

/// The whole text as a `serde_json::Value`, then each field converted: what `parse json` did before
/// the fast path, and still does for what that path refuses (keys written twice, wrong types, not
/// JSON), so that both accept the same texts and give the same reasons.
fn slow<'a>(text: &str, fields: &[FieldRef], row: &mut Vec<Val<'a>>) -> Result<(), Why> {
    let object = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => return Err(Why::NotObject),
        Err(_) => return Err(Why::NotJson),
    };
    for (i, f) in fields.iter().enumerate() {
        row.push(convert(object.get(f.name()), f).map_err(|()| Why::Field(i))?);
    }
    Ok(())
}

/// A JSON value converted to a field's type; `Err(())` when it does not fit.
pub(super) fn convert<'a>(v: Option<&serde_json::Value>, field: &Field) -> Result<Val<'a>, ()> {
    use serde_json::Value as J;
    let v = match v {
        None | Some(J::Null) => return if field.is_nullable() { Ok(Val::Null) } else { Err(()) },
        Some(v) => v,
    };
    match (field.data_type(), v) {
        (DataType::Utf8, J::String(s)) => Ok(Val::Str(Cow::Owned(s.clone()))),
        (DataType::Int64, J::Number(n)) => n.as_i64().map(Val::Int).ok_or(()),
        (DataType::Float64, J::Number(n)) => n.as_f64().map(Val::Float).ok_or(()),
        (DataType::Boolean, J::Bool(b)) => Ok(Val::Bool(*b)),
        (DataType::Timestamp(..), J::Number(n)) => n.as_i64().map(Val::Int).ok_or(()),
        (DataType::Timestamp(..), J::String(s)) => parse_time(s).map(Val::Int).ok_or(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Schema, TimeUnit};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("host", DataType::Utf8, false),
            Field::new("status", DataType::Int64, false),
            Field::new("ms", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
        ]))
    }

    fn fast_and_slow(text: &str) -> (Result<Vec<Val<'_>>, Why>, Result<Vec<Val<'static>>, Why>) {
        let schema = schema();
        let json = Json::new(&schema);
        let mut row = Vec::new();
        let fast = json.fill(text, &schema, &mut row).map(|_| row);
        let mut row = Vec::new();
        let slow = slow(text, schema.fields(), &mut row).map(|()| row);
        (fast, slow)
    }

    #[test]
    fn typed_keys_are_kept_others_skipped_and_strings_borrowed() {
        let text = r#"{"skip":{"deep":[1,2,{"x":null}]},"host":"a","status":200,"ms":1,"ts":"2000-10-10T20:55:36Z","ok":true}"#;
        let (fast, slow) = fast_and_slow(text);
        let row = fast.unwrap();
        assert!(matches!(&row[0], Val::Str(Cow::Borrowed("a"))));
        assert_eq!(row, slow.unwrap());
        assert_eq!(row[2], Val::Float(1.0));
        assert_eq!(row[4], Val::Int(971_211_336_000));
    }

    #[test]
    fn edge_cases_agree_with_the_value_path() {
        for text in [
            r#"{"host":"a\"b\u00e9","status":1}"#,
            r#"{"host":"a","status":"x","status":2}"#,
            r#"{"host":"a","status":2,"status":"x"}"#,
            r#"{"host":"a","status":1.5}"#,
            r#"{"host":"a","status":18446744073709551615}"#,
            r#"{"host":"a","status":-3,"ms":null}"#,
            r#"{"host":null,"status":1}"#,
            r#"{"status":1}"#,
            r#"[1,2]"#,
            r#"[1,"#,
            r#"{"host":"a","status":1} trailing"#,
            r#"{"host":"a","status":1,"ok":"yes"}"#,
            "",
            "\u{fffd}",
        ] {
            let (fast, slow) = fast_and_slow(text);
            assert_eq!(fast, slow, "{text}");
        }
    }

    proptest! {
        #[test]
        fn any_text_gives_what_the_value_path_gives(
            text in prop_oneof![
                any::<String>(),
                r#"\{("(host|status|ms|ok|ts|x)":(null|true|1|-2|2\.5|"[a-z\\"]{0,4}"|\[\]|\{\}),?){0,6}\}"#,
            ]
        ) {
            let (fast, slow) = fast_and_slow(&text);
            prop_assert_eq!(fast, slow);
        }
    }
}
