//! One client connection: frames read one at a time (Kafka answers a connection's requests in
//! order), decoded, handled, answered. A frame over the size limit, a malformed one, or an API or
//! version not served closes this connection only, and the log counts it.

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::api::{api_versions_fallback, handle, Session};
use crate::broker::Shared;
use crate::frame::{decode_request, encode_response, FrameError};

pub(crate) async fn serve(broker: Shared, mut stream: TcpStream, mut stop: watch::Receiver<bool>) {
    let peer = stream.peer_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut session = Session {
        peer_ip: stream.peer_addr().map_or_else(|_| "?".to_string(), |a| a.ip().to_string()),
        ..Session::default()
    };
    loop {
        let mut len = [0u8; 4];
        tokio::select! {
            r = stream.read_exact(&mut len) => if r.is_err() { return },
            _ = stop.changed() => return,
        }
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > broker.config.max_request_size {
            bad_frame(&broker, &peer, &format!("a {len}-byte request exceeds --max-request-size"));
            return;
        }
        let mut frame = BytesMut::zeroed(len as usize);
        if stream.read_exact(&mut frame).await.is_err() {
            bad_frame(&broker, &peer, "the connection closed inside a request");
            return;
        }
        let req = match decode_request(frame.freeze()) {
            Ok(r) => r,
            Err(FrameError::ApiVersionsFallback { correlation_id }) => {
                let body = ResponseKind::ApiVersions(api_versions_fallback());
                match encode_response(ApiKey::ApiVersions, 0, correlation_id, &body) {
                    Ok(bytes) if stream.write_all(&bytes).await.is_ok() => continue,
                    _ => return,
                }
            }
            Err(e) => {
                bad_frame(&broker, &peer, &e.to_string());
                return;
            }
        };
        let (key, version, correlation_id) = (req.api_key, req.header.request_api_version, req.header.correlation_id);
        let response = match handle(&broker, &mut session, req).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                bad_frame(&broker, &peer, &e);
                return;
            }
        };
        match encode_response(key, version, correlation_id, &response) {
            Ok(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!("cannot encode the {key:?} v{version} response to {peer}: {e}");
                return;
            }
        }
    }
}

fn bad_frame(broker: &Shared, peer: &str, why: &str) {
    let n = broker.bad_frames.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::warn!("closed the connection from {peer}: {why} ({n} bad request(s) so far)");
}
