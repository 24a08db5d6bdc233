//! Listening sockets of the network sources (`netcat`, `http`): bound when the run is planned, so a
//! port in use refuses the run before anything moves, and announced on standard error once it runs.

use flowc_runtime::exec::RunError;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Problems with one peer printed on standard error before the rest are only counted.
const PRINTED_PROBLEMS: u64 = 10;

/// Binds `address` (`host:port`, port `0` for a free one). Clients that connect before the run
/// starts wait in the listen backlog.
pub(crate) fn bind(address: &str) -> Result<TcpListener, RunError> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| RunError::config(format!("cannot resolve the address `{address}`: {e}")))?
        .collect();
    let listener =
        TcpListener::bind(&addrs[..]).map_err(|e| RunError::io(format!("cannot listen on `{address}`: {e}")))?;
    listener.set_nonblocking(true).map_err(|e| RunError::io(format!("cannot listen on `{address}`: {e}")))?;
    Ok(listener)
}

/// Says on standard error where a source listens, warning when other hosts can reach it. Called
/// once the run has started (SIGINT/SIGTERM are handled from then on), so whoever waits for this
/// line may stop flowc with a signal right after it.
pub(crate) fn announce(node: &str, kind: &str, listener: &tokio::net::TcpListener) {
    let Ok(local) = listener.local_addr() else { return };
    tracing::info!("{node}: {kind} listening on {local}");
    if !local.ip().is_loopback() {
        tracing::warn!(
            "{node}: {local} is reachable from other hosts and {kind} has no authentication; \
bind 127.0.0.1 unless that is intended"
        );
    }
}

/// Accepting failed (out of file descriptors, …): say so and pause before accepting again.
pub(crate) async fn accept_failed(node: &str, err: &std::io::Error) {
    tracing::warn!("{node}: cannot accept a connection: {err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Prints the first few problems caused by peers (garbage, oversized lines) and counts the rest, so a
/// misbehaving client cannot flood standard error.
#[derive(Debug, Default)]
pub(crate) struct Problems(AtomicU64);

impl Problems {
    pub(crate) fn report(&self, node: &str, message: impl std::fmt::Display) {
        let seen = self.0.fetch_add(1, Ordering::Relaxed);
        if seen < PRINTED_PROBLEMS {
            tracing::warn!("{node}: {message}");
        } else if seen == PRINTED_PROBLEMS {
            tracing::warn!("{node}: further problems with clients are counted (errors), not printed");
        }
    }
}

/// The next connection, once one of `slots` is free (beyond `max_connections`, clients wait in the
/// listen backlog): the accept's outcome and the slot, to drop when the connection ends. `None` once
/// the run stops.
pub(crate) async fn next_connection(
    listener: &tokio::net::TcpListener,
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
    shutdown: &mut flowc_runtime::exec::Shutdown,
) -> Option<(std::io::Result<(tokio::net::TcpStream, SocketAddr)>, tokio::sync::OwnedSemaphorePermit)> {
    let slot = tokio::select! {
        biased;
        _ = shutdown.wait() => return None,
        slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
    };
    tokio::select! {
        biased;
        _ = shutdown.wait() => None,
        accepted = listener.accept() => Some((accepted, slot)),
    }
}
