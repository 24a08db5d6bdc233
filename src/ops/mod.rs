//! Operating a running flowc: the endpoint `flowc run --metrics` serves, and the commands that read
//! it (`flowc top`, `flowc tap`).

mod endpoint;
mod prometheus;
pub mod tap;
pub mod top;
mod wire;

pub(crate) use endpoint::start;

/// Where `flowc run --metrics` listens when given no address, and where `top` and `tap` look.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:9100";

/// A current-thread runtime for the two client commands.
fn client_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start: {e}"))
}
