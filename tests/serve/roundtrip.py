"""Produce COUNT keyed records with headers to `flowc serve`, consume them back, check every one.

usage: roundtrip.py LIB BOOTSTRAP TOPIC COUNT PARTITIONS COMPRESSION
LIB is confluent (librdkafka) or kafka-python; the producer uses acks=all and idempotence.
Prints key=value lines: produced, received, mismatched, out_of_order, partitions.
"""
import sys
import time

lib, bootstrap, topic, count, partitions, compression = sys.argv[1:7]
count, partitions = int(count), int(partitions)


def expected(i):
    return (f"k{i % 97}".encode(), f"value-{i:09d}-".encode() + b"x" * 80, [("i", str(i).encode()), ("src", b"test")])


received = {}
out_of_order = 0
mismatched = 0
last = {}


def check(partition, key, value, headers):
    global out_of_order, mismatched
    i = int(value[6:15])
    k, v, h = expected(i)
    if (key, value, [(a, b) for a, b in headers]) != (k, v, h):
        mismatched += 1
    if last.get(partition, -1) >= i:
        out_of_order += 1
    last[partition] = i
    received[i] = partition


deadline = time.time() + 120
if lib == "confluent":
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        f.result()
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "compression.type": compression, "linger.ms": 20, "batch.num.messages": 10000})
    delivered = [0, 0]

    def on_delivery(err, msg):
        delivered[1 if err else 0] += 1

    for i in range(count):
        k, v, h = expected(i)
        while True:
            try:
                p.produce(topic, key=k, value=v, headers=h, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0, "not everything was delivered"
    print(f"produced={delivered[0]}")
    print(f"failed={delivered[1]}")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"roundtrip-{topic}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    while len(received) < count and time.time() < deadline:
        for m in c.consume(num_messages=10000, timeout=1):
            if m.error():
                print(f"error={m.error()}")
                continue
            check(m.partition(), m.key(), m.value(), m.headers() or [])
    c.close()
else:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    admin.close()
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                      compression_type=None if compression == "none" else compression, linger_ms=20)
    futures = []
    for i in range(count):
        k, v, h = expected(i)
        futures.append(p.send(topic, key=k, value=v, headers=h))
    p.flush(60)
    ok = sum(1 for f in futures if f.succeeded())
    print(f"produced={ok}")
    print(f"failed={count - ok}")
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    c.assign([TopicPartition(topic, p) for p in range(partitions)])
    c.seek_to_beginning()
    while len(received) < count and time.time() < deadline:
        for tp, msgs in c.poll(1000, max_records=10000).items():
            for m in msgs:
                check(m.partition, m.key, m.value, m.headers)
    c.close()

print(f"received={len(received)}")
print(f"mismatched={mismatched}")
print(f"out_of_order={out_of_order}")
print(f"partitions={len(set(received.values()))}")
