//! `flowc log verify|repair`: the operator's tools for damaged segments.

use clap::Subcommand;
use flowc_runtime::log::PartitionCheck;

use super::{DataDir, Failure};

/// Segment checking and repair.
#[derive(Debug, Subcommand)]
pub enum LogToolCommand {
    /// Check every batch (CRC32C, framing, offsets) of a topic or of all topics; exit 1 on damage.
    Verify {
        /// Only this topic.
        topic: Option<String>,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Truncate each damaged partition at its first bad batch and report what was cut.
    Repair {
        /// Only this topic.
        topic: Option<String>,
        #[command(flatten)]
        dir: DataDir,
    },
}

pub(crate) fn run(cmd: LogToolCommand) -> Result<i32, Failure> {
    match cmd {
        LogToolCommand::Verify { topic, dir } => {
            let checks = dir.open(false)?.verify(topic.as_deref())?;
            let mut damaged = 0;
            for c in &checks {
                match &c.damage {
                    None => println!("{}", ok_line(c)),
                    Some(d) => {
                        damaged += 1;
                        println!(
                            "{}/{}: DAMAGED at {} byte {} (offset {}): {}; {} valid records before it; \
                             repair would cut {} bytes and {} later segment(s)",
                            c.topic,
                            c.partition,
                            d.file.display(),
                            d.position,
                            d.offset,
                            d.reason,
                            c.records,
                            d.bytes_after,
                            d.segments_after
                        );
                    }
                }
            }
            if damaged > 0 {
                return Err(Failure::input(format!(
                    "{damaged} damaged partition(s); `flowc log repair` truncates them at the first bad batch"
                )));
            }
            Ok(0)
        }
        LogToolCommand::Repair { topic, dir } => {
            for c in dir.open(false)?.repair(topic.as_deref())? {
                match &c.damage {
                    None => println!("{}", ok_line(&c)),
                    Some(d) => println!(
                        "{}/{}: cut {} bytes at {} byte {} ({}), removed {} later segment(s); \
                         the partition now ends at offset {}",
                        c.topic,
                        c.partition,
                        d.bytes_after,
                        d.file.display(),
                        d.position,
                        d.reason,
                        d.segments_after,
                        d.offset
                    ),
                }
            }
            Ok(0)
        }
    }
}

fn ok_line(c: &PartitionCheck) -> String {
    format!(
        "{}/{}: ok, {} records in {} segment(s), offsets {}..{}",
        c.topic, c.partition, c.records, c.segments, c.start_offset, c.end_offset
    )
}
