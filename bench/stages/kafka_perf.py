"""Raw limit: Kafka produce/consume msgs/s for 1 KB messages, with the broker's own perf tools."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import UnknownTopicOrPartitionError

from stack.kafka import classpath, client_config, find_java
from stack.settings import load_settings

TOPIC = "bench.perf-1kb"


def recreate_topic(settings, partitions: int) -> None:
    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        try:
            admin.delete_topics([TOPIC])
            time.sleep(2)
        except UnknownTopicOrPartitionError:
            pass
        admin.create_topics([NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


def run_tool(settings, main_class: str, *args: str) -> str:
    cmd = [find_java(), "-Xmx1g", "-cp", classpath(settings.kafka_libs_dir), "-Dlog4j2.level=WARN", main_class, *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["produce", "consume"], required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings()
    servers = settings.kafka.bootstrap_servers
    if args.mode == "produce":
        recreate_topic(settings, args.partitions)
        out = run_tool(
            settings,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            TOPIC,
            "--num-records",
            str(args.records),
            "--record-size",
            "1024",
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={servers}",
            "acks=all",
            "linger.ms=5",
            "batch.size=262144",
        )
        # "1000000 records sent, 180000.0 records/sec (175.78 MB/sec), 120.5 ms avg latency, ..."
        final = [line for line in out.splitlines() if "records sent" in line][-1]
        rate = float(re.search(r"([\d.]+) records/sec", final).group(1))
        mb_s = float(re.search(r"\(([\d.]+) MB/sec\)", final).group(1))
        print(
            json.dumps(
                {
                    "records": args.records,
                    "seconds": args.records / rate,
                    "records_per_s": rate,
                    "mb_per_s": mb_s,
                    "acks": "all",
                }
            )
        )
    else:
        out = run_tool(
            settings,
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            servers,
            "--topic",
            TOPIC,
            "--messages",
            str(args.records),
            "--group",
            f"bench-perf-{time.time_ns()}",
        )
        # header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
        row = [line for line in out.splitlines() if line and line[0].isdigit()][-1].split(", ")
        messages, rate, mb_s = int(row[4]), float(row[5]), float(row[3])
        print(json.dumps({"records": messages, "seconds": messages / rate, "records_per_s": rate, "mb_per_s": mb_s}))


if __name__ == "__main__":
    main()
