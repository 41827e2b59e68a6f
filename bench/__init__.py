"""Benchmarks (`make bench`): the project's upgrade against the floor and the original.

Not part of `make test`: timings are measured here, as ratios against a baseline measured
in the same run on copies of the same file, and written into README.
"""


def peak_rss_mb() -> int:
    """This process's own peak resident memory (VmHWM), in MB.

    Not the rusage of a child seen from the parent: on Linux a child's ru_maxrss keeps the
    parent's peak from before exec, which would charge the bench's own memory to it.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return -1
