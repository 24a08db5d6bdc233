#!/usr/bin/env python3
"""W3 of the shared benchmark workloads: N lines of exactly 100 bytes (plus '\n'), one Kafka record each.

Copied from the project's workload generator (kafka_lines), so the repository stands alone.
Usage: gen_kafka_lines.py OUT [--lines N] [--seed S]
"""
import argparse
import random


def kafka_lines(n, seed):
    rnd = random.Random(seed + 1)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for i in range(n):
        head = "rec=%09d " % i
        body = "".join(rnd.choice(alphabet) for _ in range(100 - len(head)))
        yield head + body + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261125)
    a = ap.parse_args()
    with open(a.out, "w", newline="\n") as f:
        buf = []
        for line in kafka_lines(a.lines, a.seed):
            buf.append(line)
            if len(buf) == 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


if __name__ == "__main__":
    main()
