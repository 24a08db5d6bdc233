//! `http`: Flume's HTTP source. Each POST body becomes one batch; the reply says what happened to
//! it: `200` once delivered, `400` undecodable (nothing kept), `413` too large, `503` when the channel
//! stays full, flowc is stopping, or the batch was not delivered (retry: nothing is dropped silently).
//!
//! An HTTP/1.1 server on hyper: one task per connection, at most `max_connections` at once (more
//! wait in the listen backlog), closed after `idle_timeout` without a request head or body data. On
//! shutdown the listener closes and each connection finishes the request in flight, then closes.

mod decode;

use super::listen::{self, Problems};
use crate::catalogue::{int_from, optional, required};
use decode::Format;
use flowc_compiler::builtins::{ConnectorSig, Guarantee, ParamType, Role, StreamIn, StreamOut};
use flowc_runtime::exec::batch::lines_batch;
use flowc_runtime::exec::{Ack, BoxFuture, NodeMetrics, NodeSpec, Output, RunError, Shutdown, Source, SourceContext};
use flowc_runtime::exec::{Built, Connector};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Flume's HTTP source.
pub(crate) const CONNECTOR: Connector = Connector { sig: SIG, build: |spec| Ok(Built::source(Http::new(spec)?)) };

const SIG: ConnectorSig = ConnectorSig {
    kind: "http",
    role: Role::Source,
    summary: "Accept events by HTTP POST: plain lines, NDJSON, or Flume's JSON event array.",
    doc: "Listens on `address` (HTTP/1.1); each POST body, to any path, is one batch. The reply is `200` only \
once the batch is delivered (with a memory channel: once the sinks wrote it; with a `file` channel: once \
appended to it), `400` when the body cannot be decoded (nothing of it is kept; the reply says why), \
`413` when it exceeds `max_body`, `405` for a method other than POST, `415` for a charset other than UTF-8, \
and `503` with `Retry-After` when \
the channel stays full for `busy_timeout`, when flowc is stopping, or when the batch could not be \
delivered, so a client that retries on `503` loses nothing (and may send a batch twice). How a body is \
split into events: a `Content-Type` of `text/plain`, `application/x-ndjson` (or `application/jsonl`) or \
`application/json` picks `lines`, `ndjson` or `flume_json`; any other (or none) uses `format`. `lines`: \
one event per line (a `\\r` before the `\\n` dropped, the body UTF-8). `ndjson`: one event per non-blank \
line, each a JSON value, kept as written (parse it with `parse json`). `flume_json`: Flume's \
`[{\"headers\": {…}, \"body\": \"…\"}]`, each `body` one event, so existing Flume HTTP clients keep \
working; the headers are checked but not kept (the stream is lines). Port `0` picks a free port; the \
address listened on is printed on standard error, with a warning when it is not loopback (there is no \
authentication). SIGINT/SIGTERM stop accepting; requests in flight are answered once their batch is \
delivered.",
    params: &[
        required(
            "address",
            ParamType::Address,
            "The address to listen on, e.g. `\"127.0.0.1:8080\"`; port `0` picks a free one.",
        ),
        optional(
            "format",
            ParamType::Enum(&["lines", "ndjson", "flume_json"]),
            "lines",
            "How a request body is split into events when its `Content-Type` does not say: one per line, one \
per JSON line, or Flume's JSON event array.",
        ),
        optional(
            "max_body",
            ParamType::Size,
            "16MiB",
            "Largest request body accepted; larger ones are refused with `413`.",
        ),
        optional(
            "busy_timeout",
            ParamType::Duration,
            "3s",
            "How long a request waits for room in a full channel before it is answered `503` (Flume's `keep-alive`).",
        ),
        optional(
            "max_connections",
            int_from(1),
            "100",
            "Connections served at once; further ones wait to be accepted.",
        ),
        optional(
            "idle_timeout",
            ParamType::Duration,
            "30s",
            "Close a connection that sends no request (or no part of its body) for this long.",
        ),
    ],
    guarantee: Guarantee::AtLeastOnce,
    guarantee_note: "`200` is sent only after the channel committed the request; `503` when it is full, \
so a retrying client loses nothing",
    output: StreamOut::Lines,
    input: StreamIn::Any,
    flume: "http",
    check: None,
    weaker_when: &[],
};

/// After shutdown, how long requests in flight may take before their connections are dropped.
const DRAIN_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Http {
    listener: std::net::TcpListener,
    config: Config,
}

struct Config {
    format: Format,
    max_body: u64,
    busy_timeout: Duration,
    max_connections: usize,
    idle_timeout: Duration,
}

impl Http {
    pub(crate) fn new(spec: &NodeSpec<'_>) -> Result<Http, RunError> {
        let o = &spec.options;
        let address = o.string("address")?.ok_or_else(|| RunError::config("`address` is required"))?;
        let config = Config {
            format: Format::from_option(&o.string_or_default("format")?),
            max_body: o.size_or_default("max_body")?,
            busy_timeout: o.duration_or_default("busy_timeout")?,
            max_connections: o.int_or_default("max_connections")?.max(1) as usize,
            idle_timeout: o.duration_or_default("idle_timeout")?.max(Duration::from_millis(1)),
        };
        let listener = listen::bind(&address)?;
        Ok(Http { listener, config })
    }
}

/// What every request handler shares.
struct State {
    node: String,
    config: Config,
    output: Output,
    shutdown: Shutdown,
    metrics: Arc<NodeMetrics>,
    problems: Problems,
}

impl Source for Http {
    fn run(self: Box<Self>, ctx: SourceContext) -> BoxFuture<'static, Result<(), RunError>> {
        Box::pin(async move {
            let listener =
                TcpListener::from_std(self.listener).map_err(|e| RunError::io(format!("cannot listen: {e}")))?;
            listen::announce(&ctx.name, "http", &listener);
            let slots = Arc::new(Semaphore::new(self.config.max_connections));
            let mut shutdown = ctx.shutdown.clone();
            let state = Arc::new(State {
                node: ctx.name.clone(),
                config: self.config,
                output: ctx.output,
                shutdown: ctx.shutdown,
                metrics: ctx.metrics,
                problems: Problems::default(),
            });
            let mut connections = JoinSet::new();
            loop {
                let Some((accepted, slot)) = listen::next_connection(&listener, &slots, &mut shutdown).await else {
                    break;
                };
                match accepted {
                    Ok((stream, _)) => {
                        let state = state.clone();
                        connections.spawn(async move {
                            serve(stream, state).await;
                            drop(slot);
                        });
                    }
                    Err(err) => listen::accept_failed(&ctx.name, &err).await,
                }
                while connections.try_join_next().is_some() {}
            }
            drop(listener);
            let drained =
                tokio::time::timeout(DRAIN_WAIT, async { while connections.join_next().await.is_some() {} }).await;
            if drained.is_err() {
                tracing::warn!(
                    "{}: {} connection(s) still busy after {DRAIN_WAIT:?}; closed",
                    ctx.name,
                    connections.len()
                );
            }
            Ok(())
        })
    }
}

/// Serves one connection until the client closes it, it idles, or the run stops (then the request
/// in flight is answered first).
async fn serve(stream: TcpStream, state: Arc<State>) {
    let mut shutdown = state.shutdown.clone();
    let idle = state.config.idle_timeout;
    let handler = state.clone();
    let service = hyper::service::service_fn(move |req| {
        let state = handler.clone();
        async move { Ok::<_, Infallible>(respond(req, &state).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(idle);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            // Something that is not HTTP: hyper answered 400 and closed; count and report it.
            if let Err(err) = served {
                if err.is_parse() || err.is_parse_too_large() {
                    state.metrics.add_errors(1);
                    state.problems.report(&state.node, format_args!("not an HTTP request: {err}"));
                }
            }
        }
        _ = shutdown.wait() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn respond(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, "only POST is accepted".into());
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if state.shutdown.is_set() {
        return busy("flowc is stopping; send again later".into());
    }
    let content_type = req.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    let format = match content_type.map(Format::from_content_type).transpose() {
        Ok(named) => named.flatten().unwrap_or(state.config.format),
        Err(why) => return refuse(state, StatusCode::UNSUPPORTED_MEDIA_TYPE, why),
    };
    let body = match read_body(req.into_body(), state).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let lines = match decode::decode(format, &body) {
        Ok(lines) => lines,
        Err(why) => return refuse(state, StatusCode::BAD_REQUEST, why),
    };
    if lines.is_empty() {
        return reply(StatusCode::OK, "0 events".into());
    }
    let count = lines.len();
    let (ack, delivered) = Ack::new();
    match state.output.send_within(lines_batch(&lines), ack, state.config.busy_timeout).await {
        Err(_) => busy("flowc is stopping; send again later".into()),
        Ok(false) => busy(format!("the channel is full (waited {:?}); send again later", state.config.busy_timeout)),
        Ok(true) if delivered.wait().await => {
            reply(StatusCode::OK, format!("{count} event{}", if count == 1 { "" } else { "s" }))
        }
        Ok(true) => busy("the events were not delivered (a sink failed); send again later".into()),
    }
}

/// The whole body, at most `max_body` bytes, each part arriving within `idle_timeout`.
async fn read_body(mut body: Incoming, state: &State) -> Result<Vec<u8>, Response<Full<Bytes>>> {
    let max = state.config.max_body;
    let too_large =
        || refuse(state, StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than max_body ({max} bytes)"));
    if body.size_hint().lower() > max {
        return Err(too_large());
    }
    let mut data = Vec::with_capacity(body.size_hint().lower() as usize);
    loop {
        let frame = match tokio::time::timeout(state.config.idle_timeout, body.frame()).await {
            Err(_) => {
                let why = format!("no part of the body for {:?}", state.config.idle_timeout);
                return Err(refuse(state, StatusCode::REQUEST_TIMEOUT, why));
            }
            Ok(None) => return Ok(data),
            Ok(Some(Err(err))) => {
                return Err(refuse(state, StatusCode::BAD_REQUEST, format!("reading the body: {err}")))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(chunk) = frame.into_data() {
            if data.len() as u64 + chunk.len() as u64 > max {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
    }
}

/// A request refused for what it sent: counted as an error and reported (the first few).
fn refuse(state: &State, status: StatusCode, why: String) -> Response<Full<Bytes>> {
    state.metrics.add_errors(1);
    state.problems.report(&state.node, format_args!("request refused with {}: {why}", status.as_u16()));
    reply(status, why)
}

fn busy(why: String) -> Response<Full<Bytes>> {
    let mut response = reply(StatusCode::SERVICE_UNAVAILABLE, why);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn reply(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
