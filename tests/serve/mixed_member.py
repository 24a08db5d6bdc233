"""One Kafka consumer of a group, driven by a test that runs flowc's own members of the same group
beside it. It commits each record (synchronously) before it reports it, so what it reports is what
the group has read.

usage: mixed_member.py LIB BOOTSTRAP TOPIC GROUP [ASSIGNOR]
(ASSIGNOR: librdkafka's partition.assignment.strategy, e.g. cooperative-sticky; default its own.)
Prints, one per line and flushed: `assigned=[P, ...]` whenever its assignment changes and
`record=PARTITION,OFFSET,VALUE` per record. A `close` line on standard input closes the consumer
(leaving the group) and prints `closed`.
"""
import sys
import threading
import time

lib, bootstrap, topic, group = sys.argv[1:5]
assignor = sys.argv[5] if len(sys.argv) > 5 else None

if lib == "confluent":
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 300, "enable.auto.commit": False}
    if assignor:
        conf["partition.assignment.strategy"] = assignor
    c = Consumer(conf)
    c.subscribe([topic])

    def poll():
        m = c.poll(0.1)
        if m is None or m.error():
            return []
        return [(m.partition(), m.offset(), m.value().decode())]

    def commit(p, o):
        try:
            c.commit(offsets=[TopicPartition(topic, p, o + 1)], asynchronous=False)
            return True
        except KafkaException as e:
            print(f"commit of {p}/{o} failed: {e}", file=sys.stderr, flush=True)
            return False

    def rewind(p, o):
        try:
            c.seek(TopicPartition(topic, p, o))
        except KafkaException:
            pass  # no longer assigned: its next owner starts from the commit

    assignment = lambda: sorted(tp.partition for tp in c.assignment())
else:
    import logging
    import os

    # what the group coordinator client did, into the file the test shows when it fails
    if os.environ.get("CLIENT_LOG"):
        logging.basicConfig(filename=os.environ["CLIENT_LOG"], level=logging.WARNING,
                            format="%(asctime)s %(threadName)s %(name)s %(message)s")
        logging.getLogger("kafka.coordinator").setLevel(logging.DEBUG)
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                      session_timeout_ms=6000, heartbeat_interval_ms=300, enable_auto_commit=False)
    # Subscribed, then the topic's metadata fetched, before the first poll joins (a topic is
    # created whole, so any partition means all): kafka-python 3.0.12 can drop an assignment
    # otherwise (see tests/serve/groups.py).
    c.subscribe([topic])
    while not c.partitions_for_topic(topic):
        time.sleep(0.05)

    def poll():
        return [(m.partition, m.offset, m.value.decode()) for msgs in c.poll(100).values() for m in msgs]

    def commit(p, o):
        try:
            c.commit({TopicPartition(topic, p): OffsetAndMetadata(o + 1, "", -1)})
            return True
        except KafkaError as e:
            print(f"commit of {p}/{o} failed: {e}", file=sys.stderr, flush=True)
            return False

    def rewind(p, o):
        try:
            c.seek(TopicPartition(topic, p), o)
        except Exception:  # kafka-python raises a plain error for an unassigned partition
            pass

    assignment = lambda: sorted(tp.partition for tp in c.assignment())

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()

last = None
while not stop.is_set():
    rewound = set()
    for p, o, v in poll():
        if p in rewound:
            continue
        if commit(p, o):
            print(f"record={p},{o},{v}", flush=True)
        else:
            rewind(p, o)
            rewound.add(p)
    now = assignment()
    if now != last:
        print(f"assigned={now}", flush=True)
        last = now
c.close()
print("closed", flush=True)
