//! `flowc produce TOPIC`: one record per stdin line, appended in batches as input arrives.
//!
//! Lines already buffered are appended together (up to `--batch` records); when stdin has nothing
//! more buffered the batch goes out at once, so a line typed in a terminal is visible to consumers
//! right away while piped input still travels in large batches.

use std::io::{BufRead, BufReader, Write};

use clap::Args;
use flowc_runtime::log::{FsyncPolicy, Record};

use super::remote::{self, Brokers};
use super::{is_broken_pipe, DataDir, Failure};

/// `flowc produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The topic to append to.
    topic: String,
    /// Split each line at the first SEP into key and value (a line without SEP is an error).
    #[arg(long, value_name = "SEP")]
    key_separator: Option<String>,
    /// Override the topic's fsync policy: always, interval(DURATION) or never.
    #[arg(long, value_name = "POLICY")]
    fsync: Option<String>,
    /// After each batch is acknowledged, print `PARTITION<TAB>OFFSET` per record to stdout.
    #[arg(long)]
    print_acks: bool,
    /// Largest number of lines appended as one batch.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    batch: usize,
    #[command(flatten)]
    dir: DataDir,
    #[command(flatten)]
    cluster: Brokers,
}

pub(crate) fn run(a: ProduceArgs) -> Result<i32, Failure> {
    let fsync = a.fsync.as_deref().map(str::parse::<FsyncPolicy>).transpose().map_err(Failure::usage)?;
    if a.key_separator.as_deref() == Some("") {
        return Err(Failure::usage("--key-separator must not be empty"));
    }
    if let Some(brokers) = &a.cluster.brokers {
        if a.fsync.is_some() {
            return Err(Failure::usage("--fsync is the data directory's; a Kafka cluster keeps its own policy"));
        }
        let mut input = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
        return remote::produce::run(brokers, &a.topic, a.key_separator.as_deref(), a.print_acks, &mut input);
    }
    let log = a.dir.open(false)?;
    let mut producer = log.producer(&a.topic, fsync)?;
    let mut input = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut batch: Vec<Record> = Vec::with_capacity(a.batch.max(1));
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut failure = None;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line).map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        if n > 0 {
            line_no += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            match to_record(&line, a.key_separator.as_deref()) {
                Some(r) => batch.push(r),
                None => {
                    failure = Some(Failure::input(format!(
                        "no key separator found on line number {line_no}; nothing from that line on was produced"
                    )));
                }
            }
        }
        let end = n == 0 || failure.is_some();
        if !batch.is_empty() && (end || batch.len() >= a.batch.max(1) || input.buffer().is_empty()) {
            let positions = producer.send(&batch)?;
            producer.flush()?;
            if a.print_acks {
                for p in &positions {
                    if let Err(e) = writeln!(out, "{}\t{}", p.partition, p.offset) {
                        if is_broken_pipe(&e) {
                            return Ok(0);
                        }
                        return Err(Failure::usage(format!("cannot write stdout: {e}")));
                    }
                }
                if let Err(e) = out.flush() {
                    if !is_broken_pipe(&e) {
                        return Err(Failure::usage(format!("cannot write stdout: {e}")));
                    }
                }
            }
            batch.clear();
        }
        if end {
            break;
        }
    }
    producer.close()?;
    match failure {
        Some(f) => Err(f),
        None => Ok(0),
    }
}

fn to_record(line: &[u8], sep: Option<&str>) -> Option<Record> {
    match sep {
        None => Some(Record::from_value(line.to_vec())),
        Some(sep) => {
            let sep = sep.as_bytes();
            let at = line.windows(sep.len()).position(|w| w == sep)?;
            Some(Record::keyed(line[..at].to_vec(), line[at + sep.len()..].to_vec()))
        }
    }
}
