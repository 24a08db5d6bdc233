//! The "consumer" protocol type's opaque bytes, read and rewritten with `kafka-protocol`'s structs: a
//! member's subscription (its topics and, for cooperative assignors, the partitions it still owns)
//! and the leader's assignment of partitions to one member. Each starts with its version (an i16);
//! versions newer than the crate knows are read as the newest it knows, as Kafka's clients do.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::protocol::{Decodable, Encodable, Message};

/// What a member subscribes to, from its JoinGroup metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub(crate) topics: Vec<String>,
    /// The partitions it keeps reading while it rejoins (cooperative assignors; empty for eager ones).
    pub(crate) owned: Vec<(String, i32)>,
}

/// The subscription in one protocol's metadata; `None` when the bytes are not one.
pub(crate) fn subscription(metadata: &Bytes) -> Option<Subscription> {
    let (version, mut body) = split_version::<ConsumerProtocolSubscription>(metadata)?;
    let s = guarded(move || ConsumerProtocolSubscription::decode(&mut body, version).ok())?;
    Some(Subscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
        owned: s
            .owned_partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter().map(move |&p| (tp.topic.0.to_string(), p)))
            .collect(),
    })
}

/// The partitions in one member's assignment (empty bytes are an empty assignment); `None` when
/// the bytes are not an assignment.
pub(crate) fn assigned(assignment: &Bytes) -> Option<Vec<(String, i32)>> {
    if assignment.is_empty() {
        return Some(Vec::new());
    }
    let (version, mut body) = split_version::<ConsumerProtocolAssignment>(assignment)?;
    let a = guarded(move || ConsumerProtocolAssignment::decode(&mut body, version).ok())?;
    Some(
        a.assigned_partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter().map(move |&p| (tp.topic.0.to_string(), p)))
            .collect(),
    )
}

/// `assignment` with only the partitions `keep` accepts, re-encoded with its version and user
/// data; the same bytes when nothing is left out. Bytes that are not an assignment become an
/// empty one (nothing may be read that was not checked).
pub(crate) fn retain(assignment: &Bytes, keep: impl Fn(&str, i32) -> bool) -> Bytes {
    if assignment.is_empty() {
        return assignment.clone();
    }
    let decoded = split_version::<ConsumerProtocolAssignment>(assignment).and_then(|(version, mut body)| {
        let a = guarded(move || ConsumerProtocolAssignment::decode(&mut body, version).ok())?;
        Some((version, a))
    });
    let Some((version, mut a)) = decoded else {
        tracing::warn!("a group leader's assignment does not decode as the consumer protocol's; handed out empty");
        return encode(0, &ConsumerProtocolAssignment::default());
    };
    let before: usize = a.assigned_partitions.iter().map(|tp| tp.partitions.len()).sum();
    let kept: Vec<TopicPartition> = a
        .assigned_partitions
        .into_iter()
        .filter_map(|mut tp| {
            let topic = tp.topic.0.to_string();
            tp.partitions.retain(|&p| keep(&topic, p));
            (!tp.partitions.is_empty()).then_some(tp)
        })
        .collect();
    if kept.iter().map(|tp| tp.partitions.len()).sum::<usize>() == before {
        return assignment.clone();
    }
    a.assigned_partitions = kept;
    encode(version, &a)
}

/// The version the bytes start with (a newer one read as the newest known) and the rest.
fn split_version<M: Message>(bytes: &Bytes) -> Option<(i16, Bytes)> {
    if bytes.len() < 2 {
        return None;
    }
    let mut body = bytes.clone();
    let version = body.get_i16();
    if version < 0 {
        return None;
    }
    Some((version.min(M::VERSIONS.max), body))
}

fn encode(version: i16, a: &ConsumerProtocolAssignment) -> Bytes {
    let mut out = BytesMut::new();
    out.extend_from_slice(&version.to_be_bytes());
    match a.encode(&mut out, version) {
        Ok(()) => out.freeze(),
        Err(e) => {
            tracing::error!("encoding an assignment (version {version}): {e}");
            Bytes::from_static(&[0, 0, 0, 0, 0, 0, 255, 255, 255, 255])
        }
    }
}

/// Runs a generated decoder on client bytes; a panic in it is a failed decode.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;

    fn assignment(version: i16, parts: &[(&str, &[i32])], user: Option<&'static [u8]>) -> Bytes {
        let mut a = ConsumerProtocolAssignment::default();
        a.assigned_partitions = parts
            .iter()
            .map(|(t, ps)| {
                let mut tp = TopicPartition::default();
                tp.topic = TopicName(StrBytes::from_string(t.to_string()));
                tp.partitions = ps.to_vec();
                tp
            })
            .collect();
        a.user_data = user.map(Bytes::from_static);
        encode(version, &a)
    }

    #[test]
    fn retain_keeps_version_and_user_data_and_drops_the_rest() {
        let full = assignment(1, &[("a", &[0, 1, 2, 3]), ("b", &[0])], Some(b"sticky"));
        assert_eq!(assigned(&full).unwrap().len(), 5);
        let kept = retain(&full, |t, p| t == "a" && p % 2 == 1);
        assert_eq!(&kept[..2], &[0, 1], "the version stays");
        assert_eq!(assigned(&kept).unwrap(), vec![("a".to_string(), 1), ("a".to_string(), 3)]);
        let (v, mut body) = split_version::<ConsumerProtocolAssignment>(&kept).unwrap();
        let back = ConsumerProtocolAssignment::decode(&mut body, v).unwrap();
        assert_eq!(back.user_data.as_deref(), Some(&b"sticky"[..]));
        assert_eq!(retain(&full, |_, _| true), full, "nothing dropped: the same bytes");
        assert_eq!(retain(&Bytes::new(), |_, _| false), Bytes::new());
        assert_eq!(assigned(&retain(&Bytes::from_static(b"\x00\x00\xff"), |_, _| true)).unwrap(), vec![]);
    }

    #[test]
    fn subscriptions_of_every_version_name_topics_and_owned_partitions() {
        for version in 0..=3i16 {
            let mut s = ConsumerProtocolSubscription::default();
            s.topics = vec![StrBytes::from_static_str("orders")];
            let mut tp = kafka_protocol::messages::consumer_protocol_subscription::TopicPartition::default();
            tp.topic = TopicName(StrBytes::from_static_str("orders"));
            tp.partitions = vec![2];
            s.owned_partitions = vec![tp];
            let mut out = BytesMut::new();
            out.extend_from_slice(&version.to_be_bytes());
            s.encode(&mut out, version).unwrap();
            let got = subscription(&out.freeze()).unwrap();
            assert_eq!(got.topics, vec!["orders".to_string()]);
            let owned = if version >= 1 { vec![("orders".to_string(), 2)] } else { vec![] };
            assert_eq!(got.owned, owned, "version {version}");
        }
        assert_eq!(subscription(&Bytes::from_static(b"\x00")), None);
        assert_eq!(subscription(&Bytes::from_static(b"\x00\x00\x00\x05ab")), None);
    }
}
