//! ApiVersions: the served APIs and version ranges, and KIP-511's v0 answer to a version too new.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;
use kafka_protocol::ResponseError;

use crate::versions::SUPPORTED;

/// The answer to any served ApiVersions version.
pub(crate) fn handle() -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.api_keys = SUPPORTED
        .iter()
        .map(|&(key, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = lo;
            v.max_version = hi;
            v
        })
        .collect();
    r
}

/// The v0 answer to an ApiVersions version this server does not serve: UNSUPPORTED_VERSION and the
/// list, from which the client picks a version both sides know.
pub(crate) fn fallback() -> ApiVersionsResponse {
    let mut r = handle();
    r.error_code = ResponseError::UnsupportedVersion.code();
    r
}
