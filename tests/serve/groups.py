"""Two consumers of one group split a topic's partitions; after one leaves the other has them all;
a second group sees every record.

usage: groups.py LIB BOOTSTRAP TOPIC
Prints key=value lines: first_split (the partitions of each member), overlap, first_total,
after_leave_partitions, after_leave_total, second_group_total.
"""
import sys
import time

lib, bootstrap, topic = sys.argv[1:4]
PARTS = 4


def wait(cond, what, limit=60):
    deadline = time.time() + limit
    while not cond():
        time.sleep(0.01)  # not a busy loop: the members' threads need the interpreter
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what() if callable(what) else what}")


if lib == "confluent":
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics(
            [NewTopic(topic, num_partitions=PARTS, replication_factor=1)]).values():
        f.result()
    prod = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})

    def produce(lo, hi):
        for i in range(lo, hi):
            prod.produce(topic, key=f"k{i}", value=f"v{i}")
        assert prod.flush(30) == 0

    def consumer(group):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                      "session.timeout.ms": 6000, "heartbeat.interval.ms": 300, "enable.auto.commit": False})
        c.subscribe([topic])
        return c

    def poll(c, into, name):
        m = c.poll(0.1)
        if m is not None and not m.error():
            into[m.value()] = (name, m.partition())

    assignment = lambda c: {tp.partition for tp in c.assignment()}
    commit = lambda c: c.commit(asynchronous=False)
else:
    import logging

    # what the group coordinator client did, for the failure message (stderr is shown only then)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(threadName)s %(name)s %(message)s")
    logging.getLogger("kafka.coordinator").setLevel(logging.DEBUG)
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    KafkaAdminClient(bootstrap_servers=bootstrap).create_topics(
        [NewTopic(topic, num_partitions=PARTS, replication_factor=1)])
    prod = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)

    def produce(lo, hi):
        for i in range(lo, hi):
            prod.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
        prod.flush(30)

    def consumer(group):
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                          session_timeout_ms=6000, heartbeat_interval_ms=300, enable_auto_commit=False)
        # Subscribed, then the topic's metadata fetched, before the first poll joins: kafka-python
        # 3.0.12 can drop an assignment otherwise. When its leader assigns before its metadata
        # snapshot has the topic, the snapshot changes after the join and it rejoins on its own (no
        # heartbeat error asks it to); if a poll's timeout ends while that JoinGroup is held for the
        # other member, the next poll finds nothing left to rejoin for, never applies the
        # SyncGroup's answer and never heartbeats again (seen: one member without partitions until
        # its session expired). Kafka holds JoinGroup the same way; the race is the client's.
        c.subscribe([topic])
        while len(c.partitions_for_topic(topic)) < PARTS:
            time.sleep(0.05)
        return c

    def poll(c, into, name):
        for tp, msgs in c.poll(100).items():
            for m in msgs:
                into[m.value] = (name, m.partition)

    assignment = lambda c: {tp.partition for tp in c.assignment()}
    commit = lambda c: c.commit()

import threading


class Member:
    """A consumer polling in its own thread (as applications run them), recording what it gets."""

    def __init__(self, group, name, into):
        self.group, self.name, self.into = group, name, into
        self.assigned = set()
        self.stop = threading.Event()
        self.closed = threading.Event()
        self.commit_now = threading.Event()
        self.committed = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        c = consumer(self.group)
        while not self.stop.is_set():
            poll(c, self.into, self.name)
            self.assigned = assignment(c)
            if self.commit_now.is_set():
                self.commit_now.clear()
                commit(c)
                self.committed.set()
        c.close()
        self.closed.set()

    def commit(self):
        self.committed.clear()
        self.commit_now.set()
        wait(self.committed.is_set, f"{self.name}'s commit")

    def close(self):
        self.stop.set()
        wait(self.closed.is_set, f"{self.name} to close")


seen = {}
c1, c2 = Member("split", "c1", seen), Member("split", "c2", seen)
wait(lambda: c1.assigned and c2.assigned and len(c1.assigned | c2.assigned) == PARTS
     and not (c1.assigned & c2.assigned), lambda: f"both members to have partitions (c1 has {sorted(c1.assigned)}, "
     f"c2 {sorted(c2.assigned)})")
produce(0, 400)
wait(lambda: len(seen) >= 400, "the first 400 records")
p1 = sorted({p for n, p in seen.values() if n == "c1"})
p2 = sorted({p for n, p in seen.values() if n == "c2"})
print(f"first_split={p1}|{p2}")
print(f"overlap={len(set(p1) & set(p2))}")
print(f"first_total={len(seen)}")
c1.commit()
c2.commit()
c1.close()
wait(lambda: len(c2.assigned) == PARTS, "the rebalance after c1 left")
produce(400, 600)
later = lambda: {v: x for v, x in list(seen.items()) if int(v[1:]) >= 400}
wait(lambda: len(later()) >= 200, "the records after c1 left")
after = later()
print(f"after_leave_partitions={sorted({p for n, p in after.values()})}")
print(f"after_leave_total={len(after)}")
c2.commit()
c2.close()
other = {}
c3 = Member("second", "c3", other)
wait(lambda: len(other) >= 600, "the second group's records")
print(f"second_group_total={len(other)}")
c3.close()
