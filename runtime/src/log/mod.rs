//! The embedded partitioned log: topics, partitions, segments, consumer groups.
//!
//! See `docs/log.md` for the on-disk layout and the guarantees.

mod error;
mod fsutil;
mod index;
mod murmur2;
mod partition;
mod reader;
mod record;
mod record_batch;
mod segment;
mod topic;
mod units;
mod varint;

pub use error::{Error, Result};
pub use murmur2::{murmur2, partition_for_key};
pub use partition::{partition_info, AppendInfo, PartitionInfo, PartitionWriter, RecoveryReport, RetentionReport};
pub use reader::PartitionReader;
pub use record::{ConsumedRecord, Header, Record, RecordView};
pub use record_batch::{Batch, BatchHeader, RecordIter};
pub use topic::{validate_group_name, validate_topic_name, FsyncPolicy, TopicConfig};
pub use units::{format_duration_ms, format_size, format_timestamp, parse_duration, parse_size};
