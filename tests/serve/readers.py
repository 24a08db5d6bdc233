"""Produce COUNT records of SIZE bytes into TOPIC (4 partitions), print produced=COUNT and wait for
a line on stdin; then open N consumers one after another, each assigned every partition and reading all of them to the end, and keep them all
connected: prints ready=TOTAL (records the N consumers got in all) and waits for a line on stdin
before closing them.

usage: readers.py BOOTSTRAP TOPIC COUNT SIZE N
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
count, size, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
KafkaAdminClient(bootstrap_servers=bootstrap).create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(count):
    producer.send(topic, value=(b"%08d" % i) + b"x" * (size - 8))
producer.flush(60)
producer.close()
print(f"produced={count}", flush=True)
sys.stdin.readline()

parts = [TopicPartition(topic, p) for p in range(4)]
consumers, total = [], 0
for _ in range(n):
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    c.assign(parts)
    c.seek_to_beginning(*parts)
    got, deadline = 0, time.time() + 60
    while got < count and time.time() < deadline:
        got += sum(len(msgs) for msgs in c.poll(200).values())
    consumers.append(c)
    total += got
print(f"ready={total}", flush=True)
sys.stdin.readline()
for c in consumers:
    c.close()
