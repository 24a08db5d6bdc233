"""The admin APIs through a client library: CreateTopics (with configs), DescribeConfigs,
CreatePartitions, ListGroups/DescribeGroups (with a live member), DeleteTopics.

usage: admin.py LIB BOOTSTRAP
Prints key=value lines: by_time (ListOffsets at 1500 ms), watermarks, rf3 (the refusal of replication factor 3), retention, partitions_after, groups, member_count, state, deleted.
"""
import sys
import time

lib, bootstrap = sys.argv[1:3]
T = f"adm-{lib}"

if lib == "confluent":
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(T, num_partitions=2, replication_factor=1,
                                       config={"retention.ms": "3600000"})]).values():
        f.result()
    try:
        for f in a.create_topics([NewTopic(T + "-rf3", num_partitions=1, replication_factor=3)]).values():
            f.result()
        print("rf3=accepted")
    except Exception as e:
        print(f"rf3={e}")
    res = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, T)])
    configs = list(res.values())[0].result()
    print(f"retention={configs['retention.ms'].value}")
    for f in a.create_partitions([NewPartitions(T, 4)]).values():
        f.result()
    print(f"partitions_after={len(a.list_topics(T, timeout=10).topics[T].partitions)}")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{lib}", "auto.offset.reset": "earliest"})
    c.subscribe([T])
    deadline = time.time() + 30
    while not c.assignment() and time.time() < deadline:
        c.poll(0.1)
    groups = a.list_consumer_groups().result().valid
    print(f"groups={sorted(g.group_id for g in groups)}")
    deadline = time.time() + 30
    while True:
        d = a.describe_consumer_groups([f"g-{lib}"])[f"g-{lib}"].result()
        if (len(d.members) == 1 and d.state.name == "STABLE") or time.time() > deadline:
            break
        c.poll(0.1)
    print(f"member_count={len(d.members)}")
    print(f"state={d.state.name}")
    c.close()
    # ListOffsets by time: records stamped 1000, 2000, 3000 ms; the first at or after 1500 is offset 1
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap})
    for ts in (1000, 2000, 3000):
        p.produce(T + "-times", value=b"x", timestamp=ts)
    p.flush(10)
    t = Consumer({"bootstrap.servers": bootstrap, "group.id": "times"})
    found = t.offsets_for_times([TopicPartition(T + "-times", 0, 1500)], timeout=10)
    lo, hi = t.get_watermark_offsets(TopicPartition(T + "-times", 0), timeout=10)
    print(f"by_time={found[0].offset}")
    print(f"watermarks={lo},{hi}")
    t.close()
    for f in a.delete_topics([T]).values():
        f.result()
    print(f"deleted={T not in a.list_topics(timeout=10).topics}")
else:
    from kafka import KafkaConsumer
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    a.create_topics([NewTopic(T, 2, 1, topic_configs={"retention.ms": "3600000"})])
    try:
        a.create_topics([NewTopic(T + "-rf3", 1, 3)])
        print("rf3=accepted")
    except Exception as e:
        print(f"rf3={e}")
    res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, T)])
    entry = res["topic"][T]["retention.ms"]
    print(f"retention={entry['value'] if isinstance(entry, dict) else entry}")
    a.create_partitions({T: NewPartitions(4)})
    print(f"partitions_after={len(a.describe_topics([T])[0]['partitions'])}")
    import threading
    stop = threading.Event()
    ready = threading.Event()

    def member():
        c = KafkaConsumer(T, bootstrap_servers=bootstrap, group_id=f"g-{lib}")
        while not stop.is_set():
            c.poll(100)
            if c.assignment():
                ready.set()
        c.close()

    t = threading.Thread(target=member)
    t.start()
    ready.wait(30)
    print(f"groups={sorted(g['group_id'] for g in a.list_groups())}")
    # kafka-python's first join sees no partitions yet and rejoins once: wait for it to settle
    deadline = time.time() + 30
    while True:
        d = a.describe_groups([f"g-{lib}"])[f"g-{lib}"]
        if (len(d["members"]) == 1 and d["group_state"] == "Stable") or time.time() > deadline:
            break
        time.sleep(0.1)
    print(f"member_count={len(d['members'])}")
    print(f"state={d['group_state'].upper()}")
    stop.set()
    t.join()
    from kafka import KafkaProducer, TopicPartition
    p = KafkaProducer(bootstrap_servers=bootstrap)
    for ts in (1000, 2000, 3000):
        p.send(T + "-times", value=b"x", timestamp_ms=ts)
    p.flush()
    q = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = TopicPartition(T + "-times", 0)
    print(f"by_time={q.offsets_for_times({tp: 1500})[tp].offset}")
    print(f"watermarks={q.beginning_offsets([tp])[tp]},{q.end_offsets([tp])[tp]}")
    q.close()
    a.delete_topics([T])
    # Kafka deletes topics asynchronously: a client polls until the topic is gone.
    gone = False
    for _ in range(50):
        gone = T not in a.list_topics()
        if gone:
            break
        time.sleep(0.2)
    print(f"deleted={gone}")
