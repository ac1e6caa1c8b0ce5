//! Deterministic synthetic clusters for benchmarks (being written).
