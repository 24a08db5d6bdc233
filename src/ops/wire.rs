//! What the endpoint and its two clients (`flowc top`, `flowc tap`) share: the JSON row of one node,
//! query decoding, and a plain HTTP GET.

use bytes::Bytes;
use flowc_runtime::exec::NodeHandle;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

/// Batches a tap holds for its watcher before it misses some.
pub(crate) const TAP_ROOM: usize = 16;

/// One node's counters, as `/api/nodes` lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeRow {
    pub(crate) name: String,
    pub(crate) what: String,
    pub(crate) events_in: u64,
    pub(crate) events_out: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) lag: u64,
    pub(crate) retries: u64,
    pub(crate) failed: bool,
    /// Taps open on the node (`flowc tap`).
    pub(crate) taps: usize,
    /// Seconds since the run started, when this row was read.
    pub(crate) uptime: f64,
}

impl NodeRow {
    pub(crate) fn of(node: &NodeHandle, uptime: f64) -> NodeRow {
        let m = &node.metrics;
        NodeRow {
            name: node.name.clone(),
            what: node.what.clone(),
            events_in: m.events_in(),
            events_out: m.events_out(),
            bytes: m.bytes(),
            errors: m.errors(),
            lag: m.lag(),
            retries: m.retries(),
            failed: m.failed(),
            taps: m.taps(),
            uptime,
        }
    }
}

/// `%XX` and `+` in a query value.
pub(crate) fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `%XX`-escapes a query value.
pub(crate) fn escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// GETs `path` from the endpoint at `address`; an error says what went wrong in one sentence.
pub(crate) async fn get(address: &str, path: &str) -> Result<Response<Incoming>, String> {
    let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| {
        format!("cannot reach flowc's metrics endpoint at {address}: {e} (is `flowc run --metrics {address}` running?)")
    })?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("{address}: {e}"))?;
    tokio::spawn(conn);
    let request = Request::get(path)
        .header(hyper::header::HOST, address)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{address}{path}: {e}"))?;
    sender.send_request(request).await.map_err(|e| format!("{address}{path}: {e}"))
}

/// The whole body of a response, as text.
pub(crate) async fn body_text(response: Response<Incoming>) -> Result<String, String> {
    let bytes = response.into_body().collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_round_trip() {
        for name in ["k", "my sink", "a%b", "naïve/x"] {
            assert_eq!(unescape(&escape(name)), name);
        }
        assert_eq!(unescape("a+b%2"), "a b%2");
    }
}
