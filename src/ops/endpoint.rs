//! The HTTP endpoint of `flowc run --metrics ADDR`: `/metrics` (OpenMetrics text for Prometheus),
//! `/health` (200 while every node runs or drains, 503 once one failed for good), and the JSON that
//! `flowc top` (`/api/nodes`) and `flowc tap` (`/api/tap?node=N&limit=K`) read.

use super::wire::{NodeRow, TAP_ROOM};
use bytes::Bytes;
use flowc_runtime::exec::NodeHandle;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;

/// Binds `address` and serves the endpoint on the current runtime until the process ends. The bound
/// address is logged (`--metrics 127.0.0.1:0` picks a free port), with a warning when other hosts can
/// reach it: the endpoint has no authentication.
pub(crate) async fn start(address: std::net::SocketAddr, nodes: Vec<NodeHandle>) -> std::io::Result<()> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    tracing::info!("metrics on http://{local}/metrics (health: /health)");
    if !local.ip().is_loopback() {
        tracing::warn!("metrics: {local} is reachable from other hosts and has no authentication; bind 127.0.0.1 unless that is intended");
    }
    let state = Arc::new(State { nodes: Arc::new(nodes), started: Instant::now() });
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!("metrics: cannot accept a connection: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(respond(req, &state)) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(())
}

struct State {
    nodes: Arc<Vec<NodeHandle>>,
    started: Instant,
}

fn respond(req: Request<Incoming>, state: &State) -> Response<Body> {
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n".into());
    }
    match req.uri().path() {
        "/metrics" => {
            let mut response = text(StatusCode::OK, super::prometheus::render(&state.nodes));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(super::prometheus::CONTENT_TYPE));
            response
        }
        "/health" => health(state),
        "/api/nodes" => {
            let uptime = state.started.elapsed().as_secs_f64();
            let rows: Vec<NodeRow> = state.nodes.iter().map(|n| NodeRow::of(n, uptime)).collect();
            json(StatusCode::OK, serde_json::to_string(&rows).unwrap_or_default())
        }
        "/api/tap" => tap(req.uri().query().unwrap_or(""), state),
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics, /health, /api/nodes or /api/tap?node=NAME\n".into()),
    }
}

fn health(state: &State) -> Response<Body> {
    let failed: Vec<&str> = state.nodes.iter().filter(|n| n.metrics.failed()).map(|n| n.name.as_str()).collect();
    match failed.as_slice() {
        [] => text(StatusCode::OK, "ok\n".into()),
        names => text(StatusCode::SERVICE_UNAVAILABLE, format!("failed for good: {}\n", names.join(", "))),
    }
}

/// Streams the events a node emits as JSON lines, `limit` of them (default 10), then ends.
fn tap(query: &str, state: &State) -> Response<Body> {
    let mut node = None;
    let mut limit = 10usize;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("node", value)) => node = Some(super::wire::unescape(value)),
            Some(("limit", value)) => match value.parse() {
                Ok(n) => limit = n,
                Err(_) => return text(StatusCode::BAD_REQUEST, format!("`limit={value}` is not a number\n")),
            },
            _ => {}
        }
    }
    let Some(name) = node else {
        return text(StatusCode::BAD_REQUEST, "name the node: /api/tap?node=NAME\n".into());
    };
    let Some(handle) = state.nodes.iter().find(|n| n.name == name) else {
        let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
        let close = flowc_compiler::suggest::did_you_mean(&name, names.iter().copied());
        let hint = close.map_or(String::new(), |c| format!(" did you mean `{c}`?"));
        return text(
            StatusCode::NOT_FOUND,
            format!("no node `{name}` in this run;{hint} nodes: {}\n", names.join(", ")),
        );
    };
    let rx = handle.metrics.tap(TAP_ROOM);
    let stream =
        futures_util::stream::unfold((rx, limit, Vec::<String>::new()), |(mut rx, left, mut pending)| async move {
            if left == 0 {
                return None;
            }
            while pending.is_empty() {
                let batch = rx.recv().await?;
                pending = (0..batch.num_rows())
                    .rev()
                    .map(|row| flowc_runtime::exec::batch::row_json(&batch, row).to_string())
                    .collect();
            }
            let line = pending.pop()?;
            let frame = Frame::data(Bytes::from(format!("{line}\n")));
            Some((Ok::<_, Infallible>(frame), (rx, left - 1, pending)))
        });
    let mut response = Response::new(StreamBody::new(stream).boxed());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    response
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = text(status, body);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
