//! `flowc produce TOPIC --brokers …`: stdin's lines as records of a Kafka topic, each acknowledged
//! by the cluster (`acks=all`, idempotent) before the command says it is done.

use super::{block_on, config, kafka_failure, Failure};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

/// Records handed to librdkafka before the command waits for their acknowledgements.
const WINDOW: usize = 10_000;

/// Produces every line of `input`; with `key_separator`, the text before it is the key.
pub(crate) fn run(
    brokers: &str,
    topic: &str,
    key_separator: Option<&str>,
    print_acks: bool,
    input: &mut BufReader<impl Read>,
) -> Result<i32, Failure> {
    let producer: FutureProducer = config(brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .map_err(|e| kafka_failure(brokers, e))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut waiting: Vec<DeliveryFuture> = Vec::with_capacity(WINDOW);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut failure = None;
    let acknowledge = |waiting: &mut Vec<DeliveryFuture>, out: &mut dyn Write| -> Result<(), Failure> {
        for delivery in waiting.drain(..) {
            match block_on(delivery)? {
                Ok(Ok(d)) if print_acks => {
                    let _ = writeln!(out, "{}\t{}", d.partition, d.offset);
                }
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(kafka_failure(brokers, format!("a record was not produced: {e}"))),
                Err(_) => return Err(kafka_failure(brokers, "the producer stopped before answering")),
            }
        }
        let _ = out.flush();
        Ok(())
    };
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line).map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let (key, value) = match key_separator {
            None => (None, &line[..]),
            Some(sep) => match line.windows(sep.len()).position(|w| w == sep.as_bytes()) {
                Some(at) => (Some(&line[..at]), &line[at + sep.len()..]),
                None => {
                    failure = Some(Failure::input(format!(
                        "no key separator found on line number {line_no}; nothing from that line on was produced"
                    )));
                    break;
                }
            },
        };
        let mut record = FutureRecord::to(topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match producer.send_result(record) {
                Ok(delivery) => break waiting.push(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(kafka_failure(brokers, e)),
            }
        }
        if waiting.len() >= WINDOW || input.buffer().is_empty() {
            acknowledge(&mut waiting, &mut out)?;
        }
    }
    acknowledge(&mut waiting, &mut out)?;
    match failure {
        Some(f) => Err(f),
        None => Ok(0),
    }
}
