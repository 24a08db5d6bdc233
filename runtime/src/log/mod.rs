//! The embedded partitioned log: topics, partitions, segments, consumer groups.
//!
//! Start at [`Log::open`]. Writers: [`Log::producer`] (key routing) or [`Log::partition_writer`];
//! readers: [`Log::consumer`] (groups, polling) or [`Log::reader`] (raw batches). Everything is
//! synchronous std I/O; see `docs/log.md` for the on-disk layout and the guarantees.

mod compression;
mod consumer;
#[cfg(test)]
mod crash_regressions;
#[cfg(test)]
mod crash_sim;
mod error;
mod fsutil;
mod group;
mod index;
mod io;
#[cfg(test)]
mod io_faults;
mod murmur2;
mod partition;
mod producer;
mod reader;
mod record;
mod record_batch;
mod segment;
mod store;
mod topic;
mod units;
mod varint;
mod verify;

pub use consumer::{Consumer, ConsumerOptions, OffsetReset, PartitionCommits};
pub use error::{Error, Result};
pub use group::{CommittedOffset, MemberInfo, Membership, OwnedPartition};
pub use murmur2::{murmur2, partition_for_key};
pub use partition::{partition_info, AppendInfo, PartitionInfo, PartitionWriter, RecoveryReport, RetentionReport};
pub use producer::{Producer, RecordPosition};
pub use reader::PartitionReader;
pub use record::{AsRecord, ConsumedRecord, Header, Record, RecordRef, RecordView};
pub use record_batch::{
    check as check_batch, codec_name, encode_batch, set_base_offset, Batch, BatchHeader, Check, RecordIter,
};
pub use segment::log_path as segment_path;
pub use store::{GroupInfo, GroupPartition, Log, LogOptions, TopicInfo};
pub use topic::{validate_group_name, validate_topic_name, FsyncPolicy, TopicConfig, TopicId};
pub use units::{format_duration_ms, format_size, format_timestamp, parse_duration, parse_size};
pub use verify::{Damage, PartitionCheck};
