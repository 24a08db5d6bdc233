//! `flowc consume TOPIC`: print records one per line, alone or in a consumer group.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use flowc_runtime::log::{parse_duration, ConsumerOptions, OffsetReset};

use super::remote::{self, Brokers};
use super::{is_broken_pipe, DataDir, Failure};

/// `flowc consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// The topic to read.
    topic: String,
    /// Consume as a member of this group: share its partitions with the other members and commit
    /// what was printed. Without it every partition is read and nothing is committed.
    #[arg(long, value_name = "G")]
    group: Option<String>,
    /// Start at the oldest record when the group has no committed offset (default: only new records).
    #[arg(long)]
    from_beginning: bool,
    /// Exit after printing N records.
    #[arg(long, value_name = "N")]
    max_messages: Option<u64>,
    /// Exit when nothing new arrived for this long (e.g. 5s).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Print the key before the value, separated by a tab.
    #[arg(long)]
    print_key: bool,
    /// Print `Offset:N` before each record.
    #[arg(long)]
    print_offset: bool,
    /// Print `Partition:N` before each record.
    #[arg(long)]
    print_partition: bool,
    /// Print `CreateTime:MS` before each record.
    #[arg(long)]
    print_timestamp: bool,
    /// Without --group: read only this partition.
    #[arg(long, value_name = "P", conflicts_with = "group")]
    partition: Option<u32>,
    #[command(flatten)]
    dir: DataDir,
    #[command(flatten)]
    cluster: Brokers,
}

pub(crate) fn run(a: ConsumeArgs) -> Result<i32, Failure> {
    let timeout = a.timeout.as_deref().map(parse_duration).transpose().map_err(Failure::usage)?;
    if let Some(brokers) = &a.cluster.brokers {
        let consume = remote::consume::Consume {
            topic: &a.topic,
            group: a.group.as_deref(),
            from_beginning: a.from_beginning,
            partition: a.partition,
            max_messages: a.max_messages,
            timeout,
            print_key: a.print_key,
            print_offset: a.print_offset,
            print_partition: a.print_partition,
            print_timestamp: a.print_timestamp,
        };
        return remote::consume::run(brokers, consume);
    }
    let log = a.dir.open(false)?;
    let opts = ConsumerOptions {
        group: a.group.clone(),
        reset: if a.from_beginning { OffsetReset::Earliest } else { OffsetReset::Latest },
        client_id: "flowc-consume".into(),
        partitions: a.partition.map(|p| vec![p]),
        ..ConsumerOptions::default()
    };
    let mut consumer = log.consumer(&a.topic, opts)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printed: u64 = 0;
    let mut last_new = Instant::now();
    let max = a.max_messages.unwrap_or(u64::MAX);
    while printed < max {
        let wait = match timeout {
            Some(t) => match t.checked_sub(last_new.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => break,
            },
            None => Duration::from_millis(500),
        };
        let want = (max - printed).min(2000) as usize;
        let records = consumer.poll(want, wait)?;
        if records.is_empty() {
            continue;
        }
        last_new = Instant::now();
        let mut line = Vec::with_capacity(256);
        for r in &records {
            line.clear();
            if a.print_timestamp {
                line.extend_from_slice(format!("CreateTime:{}\t", r.timestamp).as_bytes());
            }
            if a.print_partition {
                line.extend_from_slice(format!("Partition:{}\t", r.partition).as_bytes());
            }
            if a.print_offset {
                line.extend_from_slice(format!("Offset:{}\t", r.offset).as_bytes());
            }
            if a.print_key {
                line.extend_from_slice(r.key.as_deref().unwrap_or(b"null"));
                line.push(b'\t');
            }
            line.extend_from_slice(r.value.as_deref().unwrap_or(b"null"));
            line.push(b'\n');
            if let Err(e) = out.write_all(&line) {
                return stdout_failed(e, printed);
            }
        }
        if let Err(e) = out.flush() {
            return stdout_failed(e, printed);
        }
        printed += records.len() as u64;
        // what was printed is now the group's position
        consumer.commit()?;
    }
    eprintln!("Processed a total of {printed} messages");
    Ok(0)
}

fn stdout_failed(e: std::io::Error, printed: u64) -> Result<i32, Failure> {
    if is_broken_pipe(&e) {
        return Ok(0);
    }
    Err(Failure::usage(format!("cannot write stdout after {printed} records: {e}")))
}
