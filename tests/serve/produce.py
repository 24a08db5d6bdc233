"""Produce COUNT records (values v0.., or {"n": i} JSON with --json) with acks=all and idempotence,
retrying for up to 60 s; prints delivered=N and failed=N.

usage: produce.py BOOTSTRAP TOPIC COUNT [--json] [--codec gzip|snappy|lz4|zstd] [--acks 0]
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
as_json = "--json" in sys.argv
codec = sys.argv[sys.argv.index("--codec") + 1] if "--codec" in sys.argv else "none"
acks = sys.argv[sys.argv.index("--acks") + 1] if "--acks" in sys.argv else "all"
p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": acks == "all",
              "compression.type": codec,
              "message.timeout.ms": 60000, "retry.backoff.ms": 200})
done = [0, 0]


def report(err, msg):
    done[1 if err else 0] += 1


for i in range(count):
    p.produce(topic, value=(f'{{"n": {i}}}' if as_json else f"v{i}"), on_delivery=report)
p.flush(90)
print(f"delivered={done[0]}")
print(f"failed={done[1]}")
