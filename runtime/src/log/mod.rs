//! The embedded partitioned log: topics, partitions, segments, consumer groups.
