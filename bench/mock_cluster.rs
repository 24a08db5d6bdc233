//! A librdkafka mock cluster on 127.0.0.1 for the Kafka benchmark: `cargo run --release --example
//! mock_cluster -- BROKERS TOPIC:PARTITIONS...` prints its bootstrap servers on one line and serves
//! until its standard input closes.

use rdkafka::mocking::MockCluster;
use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let brokers: i32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let cluster = MockCluster::new(brokers).expect("a mock cluster");
    for topic in args {
        let (name, partitions) = topic.split_once(':').unwrap_or((&topic, "3"));
        let partitions: i32 = partitions.parse().expect("TOPIC:PARTITIONS");
        cluster.create_topic(name, partitions, brokers.min(3)).expect("topic created");
    }
    println!("{}", cluster.bootstrap_servers());
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}
