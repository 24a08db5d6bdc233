//! `flowc groups list|describe`.

use clap::Subcommand;

use super::remote::{self, Brokers};
use super::{table, DataDir, Failure};

/// Consumer group inspection.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List consumer groups, one per line.
    List {
        #[command(flatten)]
        dir: DataDir,
        #[command(flatten)]
        cluster: Brokers,
    },
    /// Show a group's committed offsets, log-end offsets, lag and members (Kafka's columns).
    Describe {
        /// The group.
        group: String,
        #[command(flatten)]
        dir: DataDir,
        #[command(flatten)]
        cluster: Brokers,
    },
}

pub(crate) fn run(cmd: GroupsCommand) -> Result<i32, Failure> {
    match cmd {
        GroupsCommand::List { cluster: Brokers { brokers: Some(b) }, .. } => remote::groups::list(&b),
        GroupsCommand::Describe { group, cluster: Brokers { brokers: Some(b) }, .. } => {
            remote::groups::describe(&b, &group)
        }
        GroupsCommand::List { dir, .. } => {
            for g in dir.open(false)?.groups()? {
                println!("{g}");
            }
            Ok(0)
        }
        GroupsCommand::Describe { group, dir, .. } => {
            let info = dir.open(false)?.describe_group(&group)?;
            if info.partitions.is_empty() {
                println!("Consumer group '{group}' has no committed offsets ({} member(s)).", info.members.len());
                return Ok(0);
            }
            let rows: Vec<Vec<String>> = info
                .partitions
                .iter()
                .map(|p| {
                    let c = &p.committed;
                    let (id, host, client) = match &c.owner {
                        Some(m) => (m.member_id.clone(), format!("/{}", m.host), m.client_id.clone()),
                        None => ("-".into(), "-".into(), "-".into()),
                    };
                    vec![
                        group.clone(),
                        c.topic.clone(),
                        c.partition.to_string(),
                        c.offset.to_string(),
                        p.log_end_offset.to_string(),
                        p.lag.to_string(),
                        id,
                        host,
                        client,
                    ]
                })
                .collect();
            print!("{}", offsets_table(&rows));
            Ok(0)
        }
    }
}

/// The columns `kafka-consumer-groups.sh --describe` prints, one row per partition (shared with
/// `--brokers`).
pub(super) fn offsets_table(rows: &[Vec<String>]) -> String {
    table::render(
        &["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
        rows,
    )
}
