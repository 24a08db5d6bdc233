//! flowc's runtime: the embedded partitioned log, and (later) the executor that runs compiled graphs.

pub mod log;
