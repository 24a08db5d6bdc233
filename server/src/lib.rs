//! `flowc serve`: a data directory of the embedded log served over the Kafka wire protocol, so
//! Kafka clients (librdkafka, kcat, kafka-python, …) produce to and consume from flowc's topics.
//!
//! Start with [`Server::bind`] and [`Server::run`]; [`decode_request`] is the request decoder the
//! fuzz target drives. See `docs/serve.md` for the APIs and versions served.

mod api;
mod broker;
mod conn;
mod consumer_protocol;
mod frame;
mod groups;
mod producers;
mod proxy;
mod versions;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use flowc_runtime::log::{Log, LogOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use frame::{decode_request, FrameError, Request};
pub use versions::SUPPORTED;

/// A partition writer nobody produced through for this long is let go (its lock freed for other
/// processes of the same data directory).
const WRITER_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory (shared with `flowc topic/produce/consume/groups` and `flowc run`).
    pub data_dir: PathBuf,
    /// `host:port` clients are told to connect to; default: the listening address.
    pub advertised: Option<(String, u16)>,
    /// Create a topic a client asks Metadata for when it does not exist.
    pub auto_create: bool,
    /// Partitions of auto-created topics (and of CreateTopics without a count).
    pub default_partitions: u32,
    /// A request larger than this closes its connection.
    pub max_request_size: usize,
}

/// A bound server.
pub struct Server {
    listener: TcpListener,
    broker: broker::Shared,
}

impl Server {
    /// Opens the data directory and binds the listening socket.
    pub async fn bind(config: ServerConfig) -> Result<Server, String> {
        let log = Log::open(&config.data_dir, LogOptions { create: true }).map_err(|e| e.to_string())?;
        let listener =
            TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let advertised = match &config.advertised {
            Some((h, p)) => (h.clone(), i32::from(*p)),
            None if local.ip().is_unspecified() => {
                tracing::warn!(
                    "listening on {local}: clients are told to connect to localhost:{}; pass --advertised HOST:PORT \
                     for clients on other hosts",
                    local.port()
                );
                ("localhost".to_string(), i32::from(local.port()))
            }
            None => (local.ip().to_string(), i32::from(local.port())),
        };
        Ok(Server { listener, broker: Arc::new(broker::Broker::new(log, config, advertised)) })
    }

    /// The address it listens on (the port when `:0` was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; then stops accepting, lets each connection finish the
    /// request it is handling, syncs and closes every partition writer.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let ticker = self.broker.clone();
        let reaper = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(200));
            for tick in 0u64.. {
                every.tick().await;
                ticker.groups.tick();
                let broker = ticker.clone();
                let _ = tokio::task::spawn_blocking(move || broker.proxies.tick(&broker.log, &broker.groups)).await;
                if tick % 5 == 0 {
                    let broker = ticker.clone();
                    let _ = tokio::task::spawn_blocking(move || broker.release_idle(WRITER_IDLE)).await;
                }
            }
        });
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        tasks.spawn(conn::serve(self.broker.clone(), stream, stop_rx.clone()));
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(self.listener);
        reaper.abort();
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || broker.close()).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}
