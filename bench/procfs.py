"""What /proc says of a process: its resident memory, its children, whether torch is mapped."""

import os


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as kids:
        return [int(k) for k in kids.read().split()]


def has_torch(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return "libtorch" in maps.read()


def cpu_seconds(pid):
    """User plus system CPU time of process `pid` so far (its waited-for children not counted)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
