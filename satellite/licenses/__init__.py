"""License pools, usage and the counters that decide compliance."""

# Importing the package installs the Session hooks that keep pool quantities current
# (pools.py), so no code that writes license lines can run without them.
from satellite.licenses import pools as pools
