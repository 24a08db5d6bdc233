//! Syslog lines of both RFCs, the shapes real senders write, and random text that must not panic.

use super::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use proptest::prelude::*;
use std::sync::Arc;

#[test]
fn rfc5424_with_structured_data_and_nil_values() {
    let m = scan(r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application \"x\" \]"][b@1 a="1"] ﻿An application event"#).unwrap();
    assert_eq!(m.priority, Some(165));
    assert_eq!(m.version, Some(1));
    assert_eq!(m.ts, Some(1_065_910_455_003));
    assert_eq!(m.host, Some("mymachine.example.com"));
    assert_eq!(m.app, Some("evntslog"));
    assert_eq!(m.procid, None);
    assert_eq!(m.msgid, Some("ID47"));
    assert_eq!(m.structured_data, Some(r#"[exampleSDID@32473 iut="3" eventSource="Application \"x\" \]"][b@1 a="1"]"#));
    assert_eq!(m.message, "An application event");
    let m = scan("<34>1 - - - - - -").unwrap();
    assert_eq!((m.ts, m.host, m.structured_data, m.message), (None, None, None, ""));
    // Not 5424: a bad time, structured data that does not close, no space after it.
    assert_eq!(scan("<34>1 yesterday host app - - - msg"), None);
    assert_eq!(scan(r#"<34>1 - host app - - [a b="c] msg"#), None);
    assert_eq!(scan("<34>1 - host app - - -msg"), None);
}

#[test]
fn rfc3164_with_and_without_host_tag_pid_and_priority() {
    let m = scan("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8").unwrap();
    assert_eq!(m.priority, Some(34));
    assert_eq!(m.host, Some("mymachine"));
    assert_eq!((m.app, m.procid), (Some("su"), Some("230")));
    assert_eq!(m.message, "'su root' failed for lonvick on /dev/pts/8");
    let ts = m.ts.unwrap();
    let t = chrono::DateTime::from_timestamp_millis(ts).unwrap();
    assert_eq!(t.format("%m-%d %H:%M:%S").to_string(), "10-11 22:14:15");
    assert!(ts <= chrono::Utc::now().timestamp_millis() + 86_400_000);
    // Local: no host.
    let m = scan("<13>Jan  5 00:00:01 sshd[9]: Accepted").unwrap();
    assert_eq!((m.host, m.app, m.procid, m.message), (None, Some("sshd"), Some("9"), "Accepted"));
    // /var/log/syslog: no priority, rsyslog's RFC 3339 time, a tag without pid.
    let m = scan("2026-01-01T10:00:00.5+01:00 web-1 CRON: (root) CMD (run)").unwrap();
    assert_eq!((m.priority, m.ts, m.host, m.app), (None, Some(1_767_258_000_500), Some("web-1"), Some("CRON")));
    assert_eq!(m.message, "(root) CMD (run)");
    // A priority but no time: all of it is the message.
    let m = scan("<13>hello world").unwrap();
    assert_eq!((m.ts, m.message), (None, "hello world"));
    // Neither: not syslog.
    assert_eq!(scan("hello world"), None);
    assert_eq!(scan("<999>Oct 11 22:14:15 a b: c"), None);
    assert_eq!(scan("<ab>Oct 11 22:14:15 a b: c"), None);
}

#[test]
fn fields_are_typed_and_missing_ones_rejected_when_required() {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("ts", ts, true),
        Field::new("severity", DataType::Utf8, false),
        Field::new("facility", DataType::Utf8, false),
        Field::new("priority", DataType::Int64, false),
        Field::new("pid", DataType::Int64, true),
        Field::new("host", DataType::Utf8, false),
    ]));
    let syslog = Syslog::new(&schema).unwrap();
    let fill = |text| {
        let mut row = Vec::new();
        syslog.fill(text, &schema, &mut row).map(|_| row)
    };
    let s = |t: &'static str| Val::Str(Cow::Borrowed(t));
    assert_eq!(
        fill("<165>1 - web nginx abc - - x"),
        Ok(vec![Val::Null, s("notice"), s("local4"), Val::Int(165), Val::Null, s("web")])
    );
    assert_eq!(fill("<13>Jan  5 00:00:01 sshd[9]: Accepted"), Err(Why::Field(5)));
    assert_eq!(fill("plain text"), Err(Why::NotSyslog));
}

proptest! {
    #[test]
    fn random_text_never_panics(text in prop_oneof![
        any::<String>(),
        r"<[0-9]{1,3}>(1 )?[A-Za-z0-9 :\[\]=.\-]{0,30}",
        r#"<1>1 - - - - - \[[a-z "=\\\]]{0,12}"#,
    ]) {
        let _ = scan(&text);
    }
}
