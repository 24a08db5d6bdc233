//! flowc's runtime: the embedded partitioned log, and the executor that runs compiled graphs.

pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub mod large_alloc;
pub mod log;
