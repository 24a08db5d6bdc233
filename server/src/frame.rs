//! Frames: a request's bytes (after the 4-byte length) into its header and body, and a response
//! body into a length-prefixed frame.
//!
//! Decoding never panics: the header's fixed fields are read by hand before the generated decoder
//! runs, and the decoder itself runs under `catch_unwind` as a second guard (the fuzz target and
//! a property test feed it random frames).

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::versions::supported;

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    /// The request header (api key, version, correlation id, client id).
    pub header: RequestHeader,
    /// The API.
    pub api_key: ApiKey,
    /// The body.
    pub body: RequestKind,
}

/// Why a frame is not a request this server serves.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// An ApiVersions request of a version not served: answered in v0 with UNSUPPORTED_VERSION.
    ApiVersionsFallback {
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// An API key this server does not know or serve: the connection is closed (as Kafka does).
    UnknownApi {
        /// The key.
        key: i16,
    },
    /// A version of a served API that is not served: the connection is closed (as Kafka does).
    UnsupportedVersion {
        /// The API.
        key: i16,
        /// The version asked for.
        version: i16,
    },
    /// Bytes that do not decode as the request they claim to be.
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::ApiVersionsFallback { .. } => f.write_str("ApiVersions of an unsupported version"),
            FrameError::UnknownApi { key } => write!(f, "API key {key} is not served"),
            FrameError::UnsupportedVersion { key, version } => {
                write!(f, "version {version} of API key {key} is not served")
            }
            FrameError::Malformed(m) => write!(f, "malformed request: {m}"),
        }
    }
}

/// Decodes one request frame (the bytes after its length prefix).
pub fn decode_request(frame: Bytes) -> Result<Request, FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::Malformed(format!("a {}-byte frame is shorter than a request header", frame.len())));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(key).map_err(|_| FrameError::UnknownApi { key })?;
    let Some((lo, hi)) = supported(api_key) else { return Err(FrameError::UnknownApi { key }) };
    if version < lo || version > hi {
        if api_key == ApiKey::ApiVersions {
            return Err(FrameError::ApiVersionsFallback { correlation_id });
        }
        return Err(FrameError::UnsupportedVersion { key, version });
    }
    let decoded = catch_unwind(AssertUnwindSafe(move || {
        let mut buf = frame;
        let header_version = api_key.request_header_version(version);
        let header = RequestHeader::decode(&mut buf, header_version).map_err(|e| e.to_string())?;
        let body = RequestKind::decode(api_key, &mut buf, version).map_err(|e| e.to_string())?;
        Ok::<_, String>((header, body))
    }));
    match decoded {
        Ok(Ok((header, body))) => Ok(Request { header, api_key, body }),
        Ok(Err(e)) => Err(FrameError::Malformed(e)),
        Err(_) => Err(FrameError::Malformed("the decoder failed on these bytes".into())),
    }
}

/// Encodes a response to `request` (key, version, correlation id) as a length-prefixed frame.
pub(crate) fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, String> {
    // A Fetch answer (megabytes of records) is sized up front: growing by doubling would copy it
    // several times and leave the smaller buffers behind in the allocator.
    let body_size = match body {
        ResponseKind::Fetch(fetch) => fetch.compute_size(version).unwrap_or(0),
        _ => 0,
    };
    let mut buf = BytesMut::with_capacity(64 + body_size);
    buf.put_i32(0); // the length, patched below
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header.encode(&mut buf, api_key.response_header_version(version)).map_err(|e| e.to_string())?;
    body.encode(&mut buf, version).map_err(|e| e.to_string())?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}
