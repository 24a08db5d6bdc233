"""One kafka-python consumer, on one connection, across its topic's delete and re-creation.

The consumer reads a0..a2 of TOPIC (one partition) and polls on at the end; then, while it does not
poll, a3..a5 are appended (it has not read them), the topic is deleted, created again and given
b0..b7. The consumer goes on from its position (3), then seeks to the beginning.

MODE `admin` creates, deletes and re-creates the topic with KafkaAdminClient and produces with
KafkaProducer; MODE `cli` does all of it with the `flowc` console tools FLOWC on DATA_DIR, in
other processes.

usage: recreate.py BOOTSTRAP TOPIC admin
       recreate.py BOOTSTRAP TOPIC cli FLOWC DATA_DIR
Prints key=value lines: first (what the consumer read before), continued (what it read from its
position on afterwards), from_start (what it read after seeking to the beginning).
"""
import subprocess
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic, mode = sys.argv[1:4]
tp = TopicPartition(topic, 0)

if mode == "admin":
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)

    def create():
        deadline = time.time() + 30
        while True:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
                return
            except Exception as e:  # the deletion is not seen yet: retried
                if time.time() > deadline:
                    raise
                print(f"create retried: {e}", file=sys.stderr)
                time.sleep(0.2)

    def delete():
        admin.delete_topics([topic])

    def produce(values):
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for v in values:
            p.send(topic, value=v.encode(), partition=0)
        p.flush(30)
        p.close()

elif mode == "cli":
    flowc, data = sys.argv[4:6]

    def run(args, stdin=None):
        subprocess.run([flowc, *args, "--data-dir", data], input=stdin, check=True, capture_output=True)

    def create():
        run(["topic", "create", topic, "--partitions", "1"])

    def delete():
        run(["topic", "delete", topic])

    def produce(values):
        run(["produce", topic], stdin="".join(v + "\n" for v in values).encode())

else:
    sys.exit(f"unknown mode {mode}")


def read(consumer, count, seconds):
    """The values the consumer gets until it has `count` of them, or `seconds` have passed."""
    got, deadline = [], time.time() + seconds
    while len(got) < count and time.time() < deadline:
        for msgs in consumer.poll(100).values():
            got.extend(m.value.decode() for m in msgs)
    return got


create()
produce([f"a{i}" for i in range(3)])

c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100,
                  auto_offset_reset="earliest")
c.assign([tp])
c.seek_to_beginning(tp)
print("first=" + ",".join(read(c, 3, 30)), flush=True)
# caught up: a few more polls answer nothing (the connection's reader stays open at offset 3)
extra = read(c, 1, 1)
assert not extra, extra
# no poll from here on, so no fetch: the one in flight has long been answered (100 ms)
time.sleep(0.5)

produce([f"a{i}" for i in range(3, 6)])
delete()
create()
produce([f"b{i}" for i in range(8)])

# from its position: offsets 3..7 of the new topic are b3..b7 (a3..a5 went with the old one)
print("continued=" + ",".join(read(c, 5, 10)), flush=True)
c.seek_to_beginning(tp)
print("from_start=" + ",".join(read(c, 8, 10)), flush=True)
c.close()
