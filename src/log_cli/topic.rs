//! `flowc topic create|list|describe|delete`.

use clap::{Args, Subcommand};
use flowc_runtime::log::{
    format_duration_ms, format_size, format_timestamp, parse_duration, parse_size, Error, FsyncPolicy, TopicConfig,
};

use super::remote::{self, Brokers};
use super::{table, DataDir, Failure};

/// Topic administration.
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topics, one per line.
    List {
        #[command(flatten)]
        dir: DataDir,
        #[command(flatten)]
        cluster: Brokers,
    },
    /// Show a topic's config and each partition's offsets, size and oldest record.
    Describe {
        /// The topic.
        name: String,
        #[command(flatten)]
        dir: DataDir,
        #[command(flatten)]
        cluster: Brokers,
    },
    /// Delete a topic and all its records.
    Delete {
        /// The topic.
        name: String,
        /// Succeed quietly if the topic does not exist.
        #[arg(long)]
        if_exists: bool,
        #[command(flatten)]
        dir: DataDir,
        #[command(flatten)]
        cluster: Brokers,
    },
}

/// `flowc topic create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The topic's name: [a-zA-Z0-9._-], up to 249 characters.
    name: String,
    /// Number of partitions.
    #[arg(long, default_value_t = 1, value_name = "N")]
    partitions: u32,
    /// Copies of each partition: 1 on the data directory (one node keeps one copy); with
    /// `--brokers`, the cluster's brokers that hold each partition.
    #[arg(long, default_value_t = 1, value_name = "N")]
    replication_factor: u32,
    /// Delete sealed segments whose newest record is older than this (e.g. 168h, 7d; `forever` keeps all).
    #[arg(long, default_value = "168h", value_name = "DURATION")]
    retention: String,
    /// Per partition: delete the oldest sealed segments while the rest holds this much (e.g. 1GiB).
    #[arg(long, value_name = "SIZE")]
    retention_bytes: Option<String>,
    /// Roll the active segment before it grows past this size.
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    segment_bytes: String,
    /// Roll the active segment when it is this old.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    segment_age: String,
    /// When appends reach the disk: always, interval(DURATION) or never.
    #[arg(long, default_value = "interval(1s)", value_name = "POLICY")]
    fsync: String,
    /// Succeed quietly if the topic already exists.
    #[arg(long)]
    if_not_exists: bool,
    #[command(flatten)]
    dir: DataDir,
    #[command(flatten)]
    cluster: Brokers,
}

pub(crate) fn run(cmd: TopicCommand) -> Result<i32, Failure> {
    match cmd {
        TopicCommand::Create(a) => create(a),
        TopicCommand::List { cluster: Brokers { brokers: Some(b) }, .. } => remote::topic::list(&b),
        TopicCommand::Describe { name, cluster: Brokers { brokers: Some(b) }, .. } => {
            remote::topic::describe(&b, &name)
        }
        TopicCommand::Delete { name, if_exists, cluster: Brokers { brokers: Some(b) }, .. } => {
            remote::topic::delete(&b, &name, if_exists)
        }
        TopicCommand::List { dir, .. } => {
            for t in dir.open(false)?.topics()? {
                println!("{t}");
            }
            Ok(0)
        }
        TopicCommand::Describe { name, dir, .. } => describe(&dir, &name),
        TopicCommand::Delete { name, if_exists, dir, .. } => match dir.open(false)?.delete_topic(&name) {
            Ok(()) => {
                eprintln!("Deleted topic {name}.");
                Ok(0)
            }
            Err(Error::TopicNotFound(_)) if if_exists => Ok(0),
            Err(e) => Err(e.into()),
        },
    }
}

fn create(a: CreateArgs) -> Result<i32, Failure> {
    let bad = |e: String| Failure::usage(e);
    let retention_ms = match a.retention.as_str() {
        "forever" | "-1" | "infinite" => None,
        r => Some(parse_duration(r).map_err(bad)?.as_millis() as u64),
    };
    if let Some(brokers) = &a.cluster.brokers {
        let mut configs = vec![("retention.ms", retention_ms.map_or("-1".to_string(), |ms| ms.to_string()))];
        if let Some(bytes) = a.retention_bytes.as_deref() {
            configs.push(("retention.bytes", parse_size(bytes).map_err(bad)?.to_string()));
        }
        let create = remote::topic::Create {
            name: &a.name,
            partitions: a.partitions,
            replication_factor: a.replication_factor,
            configs,
            if_not_exists: a.if_not_exists,
        };
        return remote::topic::create(brokers, create);
    }
    if a.replication_factor != 1 {
        return Err(Failure::usage(format!(
            "--replication-factor {}: a data directory keeps one copy of each partition; \
             replication is the cluster's (`--brokers`)",
            a.replication_factor
        )));
    }
    let config = TopicConfig {
        partitions: a.partitions,
        retention_ms,
        retention_bytes: a.retention_bytes.as_deref().map(parse_size).transpose().map_err(bad)?,
        segment_bytes: parse_size(&a.segment_bytes).map_err(bad)?,
        segment_ms: parse_duration(&a.segment_age).map_err(bad)?.as_millis() as u64,
        fsync: a.fsync.parse::<FsyncPolicy>().map_err(bad)?,
        ..TopicConfig::default()
    };
    config.validate()?;
    let log = a.dir.open(true)?;
    match log.create_topic(&a.name, &config) {
        Ok(()) => {
            eprintln!("Created topic {} with {} partition(s).", a.name, a.partitions);
            Ok(0)
        }
        Err(Error::TopicExists(_)) if a.if_not_exists => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn describe(dir: &DataDir, name: &str) -> Result<i32, Failure> {
    let info = dir.open(false)?.describe_topic(name)?;
    let c = &info.config;
    println!(
        "Topic: {}\tPartitionCount: {}\tRetention: {}\tRetentionBytes: {}\tSegmentBytes: {}\tSegmentAge: {}\tFsync: {}",
        info.name,
        c.partitions,
        c.retention_ms.map_or("forever".to_string(), format_duration_ms),
        c.retention_bytes.map_or("unlimited".to_string(), format_size),
        format_size(c.segment_bytes),
        format_duration_ms(c.segment_ms),
        c.fsync
    );
    let rows: Vec<Vec<String>> = info
        .partitions
        .iter()
        .map(|p| {
            vec![
                p.partition.to_string(),
                p.start_offset.to_string(),
                p.end_offset.to_string(),
                (p.end_offset - p.start_offset).to_string(),
                p.size_bytes.to_string(),
                p.segments.to_string(),
                p.oldest_timestamp.map_or("-".to_string(), format_timestamp),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["PARTITION", "START-OFFSET", "END-OFFSET", "RECORDS", "SIZE-BYTES", "SEGMENTS", "OLDEST-RECORD"],
            &rows
        )
    );
    Ok(0)
}
