"""Consume part of a topic as a group and commit, or go on from the commits after a restart.

usage: restart.py LIB BOOTSTRAP TOPIC GROUP PHASE FILE
PHASE produce: make the topic (2 partitions) and produce 1000 records.
PHASE first: consume at least 300 records, commit, write their values to FILE.
PHASE rest: consume until 3 s pass with nothing new; read FILE; print key=value lines
  rest (records now), overlap (records seen in both phases), union (distinct records in all).
"""
import sys
import time

lib, bootstrap, topic, group, phase, path = sys.argv[1:7]

if lib == "confluent":
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    def make_topic():
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
            f.result()

    def produce():
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
        for i in range(1000):
            p.produce(topic, value=f"v{i}", key=f"k{i}")
        assert p.flush(30) == 0

    def consumer():
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.subscribe([topic])
        return c

    def poll(c):
        return [m.value().decode() for m in c.consume(500, 0.2) if not m.error()]

    commit = lambda c: c.commit(asynchronous=False)
else:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    def make_topic():
        KafkaAdminClient(bootstrap_servers=bootstrap).create_topics([NewTopic(topic, 2, 1)])

    def produce():
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        for i in range(1000):
            p.send(topic, value=f"v{i}".encode(), key=f"k{i}".encode())
        p.flush(30)

    def consumer():
        return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, max_poll_records=500)

    def poll(c):
        return [m.value.decode() for msgs in c.poll(200).values() for m in msgs]

    commit = lambda c: c.commit()

if phase == "produce":
    make_topic()
    produce()
elif phase == "first":
    c = consumer()
    got = []
    deadline = time.time() + 60
    while len(got) < 300 and time.time() < deadline:
        got += poll(c)
    commit(c)
    c.close()
    open(path, "w").write("\n".join(got))
    print(f"first={len(got)}")
else:
    c = consumer()
    got, last = [], time.time()
    while time.time() - last < 3:
        new = poll(c)
        if new:
            got += new
            last = time.time()
    c.close()
    before = set(open(path).read().split())
    print(f"rest={len(got)}")
    print(f"overlap={len(before & set(got))}")
    print(f"union={len(before | set(got))}")
