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

/// Runs a client command (`top`, `tap`) on a current-thread runtime: exit 0, or 2 with its error.
fn run_client(command: impl std::future::Future<Output = Result<(), String>>) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start: {err}");
            return 2;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err}");
            2
        }
    }
}
