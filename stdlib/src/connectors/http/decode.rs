//! Request bodies of the `http` source turned into lines: plain lines, NDJSON, or Flume's JSON event
//! array; a body that does not decode is refused whole, with the reason.

use serde_json::Value;

/// How a body is split into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Lines,
    Ndjson,
    FlumeJson,
}

impl Format {
    /// The `format` option's word.
    pub(crate) fn from_option(word: &str) -> Format {
        match word {
            "ndjson" => Format::Ndjson,
            "flume_json" => Format::FlumeJson,
            _ => Format::Lines,
        }
    }

    /// The format a `Content-Type` names (`None`: it names none, the option decides), or why the
    /// body cannot be read (a charset other than UTF-8).
    pub(crate) fn from_content_type(value: &str) -> Result<Option<Format>, String> {
        let mut parts = value.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        for param in parts {
            if let Some((key, charset)) = param.split_once('=') {
                let charset = charset.trim().trim_matches('"').to_ascii_lowercase();
                if key.trim().eq_ignore_ascii_case("charset") && charset != "utf-8" && charset != "utf8" {
                    return Err(format!("only UTF-8 bodies are accepted, not charset `{charset}`"));
                }
            }
        }
        Ok(match media.as_str() {
            "text/plain" => Some(Format::Lines),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Format::Ndjson)
            }
            "application/json" => Some(Format::FlumeJson),
            _ => None,
        })
    }
}

/// The events of a body, or why it cannot be decoded.
pub(crate) fn decode(format: Format, body: &[u8]) -> Result<Vec<String>, String> {
    match format {
        Format::Lines => Ok(lines(utf8(body)?).map(str::to_string).collect()),
        Format::Ndjson => ndjson(utf8(body)?),
        Format::FlumeJson => flume_json(body),
    }
}

fn utf8(body: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8 (byte {})", e.valid_up_to()))
}

/// Lines without their `\n` (or `\r\n`); a final newline ends the last line, it does not start one.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(move |_| !text.is_empty())
}

fn ndjson(text: &str) -> Result<Vec<String>, String> {
    let mut events = Vec::new();
    for (i, line) in lines(text).enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Err(err) = serde_json::from_str::<Value>(line) {
            return Err(format!("line {}: not JSON: {err}", i + 1));
        }
        events.push(line.to_string());
    }
    Ok(events)
}

fn flume_json(body: &[u8]) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(items) = value else {
        return Err("expected a JSON array of events `[{\"headers\": {…}, \"body\": \"…\"}]`".into());
    };
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut event) = item else {
            return Err(format!("event {}: not an object with `headers` and `body`", i + 1));
        };
        match event.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(headers)) if headers.values().all(Value::is_string) => {}
            Some(_) => return Err(format!("event {}: `headers` must be an object of strings", i + 1)),
        }
        match event.remove("body") {
            Some(Value::String(body)) => events.push(body),
            _ => return Err(format!("event {}: no string `body`", i + 1)),
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_newlines_and_drop_carriage_returns() {
        assert_eq!(decode(Format::Lines, b"a\r\nb\n\nc").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(decode(Format::Lines, b"a\n").unwrap(), ["a"]);
        assert!(decode(Format::Lines, b"").unwrap().is_empty());
        assert_eq!(decode(Format::Lines, b"ok\n\xff\n").unwrap_err(), "the body is not UTF-8 (byte 3)");
    }

    #[test]
    fn ndjson_keeps_each_value_as_written_and_names_the_bad_line() {
        assert_eq!(decode(Format::Ndjson, b"{\"a\":1}\n\n [2] \n").unwrap(), ["{\"a\":1}", "[2]"]);
        let err = decode(Format::Ndjson, b"{\"a\":1}\n{\"a\":\n").unwrap_err();
        assert!(err.starts_with("line 2: not JSON"), "{err}");
    }

    #[test]
    fn flume_json_takes_each_body_and_checks_headers() {
        let body = br#"[{"headers":{"host":"a"},"body":"one"},{"body":"two"}]"#;
        assert_eq!(decode(Format::FlumeJson, body).unwrap(), ["one", "two"]);
        assert!(decode(Format::FlumeJson, br#"{"body":"x"}"#).unwrap_err().contains("JSON array"));
        assert_eq!(decode(Format::FlumeJson, br#"[{"headers":{}}]"#).unwrap_err(), "event 1: no string `body`");
        assert!(decode(Format::FlumeJson, br#"[{"headers":{"n":1},"body":"x"}]"#).unwrap_err().contains("headers"));
        assert!(decode(Format::FlumeJson, b"[1,").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn content_types_pick_a_format_or_leave_it_to_the_option() {
        assert_eq!(Format::from_content_type("application/json; charset=UTF-8"), Ok(Some(Format::FlumeJson)));
        assert_eq!(Format::from_content_type("application/x-ndjson"), Ok(Some(Format::Ndjson)));
        assert_eq!(Format::from_content_type("Text/Plain"), Ok(Some(Format::Lines)));
        assert_eq!(Format::from_content_type("application/x-www-form-urlencoded"), Ok(None));
        assert!(Format::from_content_type("application/json; charset=utf-16").is_err());
    }
}
