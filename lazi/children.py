"""Child processes that end with the process that started them.

A SIGKILL of `lazi run` cannot be caught, so it cannot stop its children itself: they would
live on under PID 1 (the Prefect server listening, a sync holding its vendor's lock). Instead
each child asks Linux, between fork and exec, to be sent SIGKILL when its parent dies
(prctl PR_SET_PDEATHSIG). The syncs are built to be killed at any moment (the next run
finishes or closes what they left), and Prefect's server keeps its state in SQLite.

Linux ties the signal to the *thread* that started the child: start children from the main
thread, or from a thread that waits for them (subprocess.run), never from a short-lived one.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess: the child is killed when this process dies. None (no
    preexec_fn) where the kernel offers no such thing."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here, before fork: the child between fork and exec should do as little as
    # possible (no imports, no lookups that could take a lock another thread held).
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec
