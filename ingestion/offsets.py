"""Consumer offsets stored in PostgreSQL, next to the data ("storing offsets outside Kafka").

The stored offset is the truth about what has landed. Updates are compare-and-set: a loader
that lost a partition in a rebalance, and still tries to commit it, fails instead of landing
the same records twice.
"""

from __future__ import annotations

from kafka import TopicPartition


class OffsetConflict(Exception):
    """Another loader moved a partition's offset since this one read it."""


def read_offsets(cur, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """Stored next offsets for these partitions (missing partitions start from the beginning)."""
    if not partitions:
        return {}
    cur.execute(
        "select topic, partition, next_offset from raw.loader_offsets"
        " where (topic, partition) in (select * from unnest(%s::text[], %s::int[]))",
        ([tp.topic for tp in partitions], [tp.partition for tp in partitions]),
    )
    stored = {TopicPartition(t, p): o for t, p, o in cur.fetchall()}
    return {tp: stored.get(tp, 0) for tp in partitions}


def advance_offsets(cur, moves: dict[TopicPartition, tuple[int, int]], loader_id: str) -> None:
    """Move each partition from its expected offset to its new one, or raise OffsetConflict."""
    for tp, (expected, new) in moves.items():
        if expected == 0:
            cur.execute(
                "insert into raw.loader_offsets (topic, partition, next_offset, updated_by) values (%s, %s, %s, %s)"
                " on conflict (topic, partition) do update set next_offset = excluded.next_offset,"
                " updated_at = now(), updated_by = excluded.updated_by"
                " where raw.loader_offsets.next_offset = 0",
                (tp.topic, tp.partition, new, loader_id),
            )
        else:
            cur.execute(
                "update raw.loader_offsets set next_offset = %s, updated_at = now(), updated_by = %s"
                " where topic = %s and partition = %s and next_offset = %s",
                (new, loader_id, tp.topic, tp.partition, expected),
            )
        if cur.rowcount != 1:
            raise OffsetConflict(f"{tp.topic}[{tp.partition}] moved away from offset {expected}")
