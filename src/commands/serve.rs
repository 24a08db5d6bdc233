//! `flowc serve`: the data directory's topics and groups over the Kafka protocol (`flowc-server`),
//! until SIGTERM or SIGINT; then in-flight requests finish, writers sync, and it exits 0.

use super::EXIT_USAGE;
use flowc_server::{Server, ServerConfig};
use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on (loopback by default: there is no authentication).
    #[arg(long, default_value = "127.0.0.1:9092", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The embedded log's data directory (as for `flowc topic`, `produce`, `consume`, `run`).
    #[arg(long = "data-dir", env = "FLOWC_DATA_DIR", default_value = ".flow", value_name = "DIR")]
    pub data_dir: std::path::PathBuf,
    /// `HOST:PORT` clients are told to connect to (default: the listening address).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_advertised)]
    pub advertised: Option<(String, u16)>,
    /// Create a topic when a client asks for one that does not exist.
    #[arg(long = "auto-create", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub auto_create: bool,
    /// Partitions of topics created by clients without a count.
    #[arg(long = "default-partitions", default_value_t = 1, value_name = "N")]
    pub default_partitions: u32,
    /// A request larger than this closes its connection, e.g. `100MiB`.
    #[arg(long = "max-request-size", default_value = "100MiB", value_parser = flowc_runtime::log::parse_size, value_name = "SIZE")]
    pub max_request_size: u64,
}

fn parse_advertised(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text.rsplit_once(':').ok_or_else(|| format!("`{text}` is not HOST:PORT"))?;
    let port = port.parse().map_err(|_| format!("`{port}` is not a port"))?;
    if host.is_empty() {
        return Err(format!("`{text}` has no host"));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

pub fn run(args: &Args) -> i32 {
    crate::console::init_tracing(false);
    if args.default_partitions == 0 {
        eprintln!("error: --default-partitions must be at least 1");
        return EXIT_USAGE;
    }
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            "listening on {}, which other hosts can reach: flowc serve has no authentication or TLS",
            args.listen
        );
    }
    let config = ServerConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        advertised: args.advertised.clone(),
        auto_create: args.auto_create,
        default_partitions: args.default_partitions,
        max_request_size: args.max_request_size.min(i32::MAX as u64) as usize,
    };
    super::limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return EXIT_USAGE;
        }
    };
    let result = runtime.block_on(async move {
        let mut signals = flowc_runtime::exec::signals().map_err(|e| format!("cannot install signal handlers: {e}"))?;
        let server = Server::bind(config).await?;
        let addr = server.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("serving {} over the Kafka protocol on {addr}", args.data_dir.display());
        server
            .run(async move {
                let name = signals.next().await;
                tracing::info!("{name}: no new connections; finishing requests in flight");
            })
            .await
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            0
        }
        Err(err) => {
            eprintln!("error: {err}");
            EXIT_USAGE
        }
    }
}
