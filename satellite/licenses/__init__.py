"""License pools, usage and the counters that decide compliance."""
