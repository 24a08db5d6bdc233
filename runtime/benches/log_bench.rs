//! Append and read throughput of the embedded log (placeholder until the benchmark lands).

fn main() {}
