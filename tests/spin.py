# SPDX-License-Identifier: Apache-2.0
"""Whether a daemon spins, for the hostile-input tests (tests/mqtt/
test_hostile.py, tests/gateway/test_filelimit.py): what its threads used
of a window, measured so that a loaded machine or a sanitizer build does
not change the verdict."""
import os
import time


def cpu_s(pid):
    """The CPU seconds pid's threads used so far (user + system)."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def runnable(pid, window):
    """The share of a window of `window` seconds that pid's threads were
    runnable, on a CPU or waiting for one (/proc/PID/task/*/schedstat,
    summed; at least their CPU time's share), and the CPU seconds they
    used. A loop that never blocks is
    runnable all the window however loaded the machine is (under load it
    waits for a CPU instead of running); a daemon resting in poll or
    epoll_wait is runnable only for its few wake-ups, however slow the
    build (ASan) or the machine."""
    def sample():
        out = {}
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                run, wait = open("/proc/%d/task/%s/schedstat" % (pid, t)).read().split()[:2]
            except (OSError, ValueError):
                continue
            out[t] = (int(run) + int(wait)) / 1e9
        return out
    a, c0, t0 = sample(), cpu_s(pid), time.monotonic()
    time.sleep(window)
    b, c1, t1 = sample(), cpu_s(pid), time.monotonic()
    # a thread that ended in the window left schedstat with its time: its
    # CPU (kept in the process's) counts instead
    share = sum(v - a.get(t, 0) for t, v in b.items()) / (t1 - t0)
    return max(share, (c1 - c0) / (t1 - t0)), c1 - c0
