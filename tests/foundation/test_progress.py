"""How progress is shown: a block redrawn in place on a terminal (a real pseudo-terminal here),
plain lines of what moved otherwise, and counters a child process hands to its parent."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from lazi.config import PROJECT_ROOT
from lazi.errors import LaziError
from lazi.progress import Board, Reporter, _ClearingStream, run_relaying, settings

CONTACTS = "gohighlevel ghl_contacts"
JOBS = "servicetitan st_jobs"


@pytest.fixture
def terminal() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """(what a program writes to, what the terminal receives) of a pseudo-terminal."""
    receiving, sending = pty.openpty()
    tty.setraw(sending)  # no newline translation: the bytes as written
    fcntl.ioctl(sending, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    stream = os.fdopen(sending, "w")
    yield stream, receiving
    stream.close()
    os.close(receiving)


def received(fd: int, complete: Callable[[str], bool]) -> str:
    """What the terminal received until `complete` says that is all (a pty hands bytes over
    from a kernel work queue, a moment after the write)."""
    text = ""
    deadline = time.monotonic() + 30
    while not complete(text):
        assert time.monotonic() < deadline, f"the terminal received only {text!r}"
        if select.select([fd], [], [], 0.1)[0]:
            text += os.read(fd, 65536).decode()
    return text


ERASE_2 = "\x1b[2F\x1b[J"  # to the start of the line 2 lines up, erase to the end of screen


def test_a_terminal_block_is_redrawn_in_place(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, fd = terminal
    assert stream.isatty()
    board = Board()
    reporter = Reporter(board, stream, "terminal", 5.0)
    board.count(CONTACTS, 50, "location-1", 200)
    board.count(JOBS, 500, 1, None)  # ServiceTitan's exports give no count: no bar
    reporter.tick()
    first = received(fd, lambda text: text.count("\n") == 2)
    rows = first.splitlines()
    assert len(rows) == 2, rows
    assert rows[0].startswith(CONTACTS) and "[#####..............." in rows[0]
    assert re.search(r"\]  25%  50/200 records  [\d,]+/s  eta (\d+:\d\d|-)$", rows[0]), rows[0]
    assert rows[1].startswith(JOBS) and "500 records" in rows[1] and "[" not in rows[1]

    board.count(CONTACTS, 150, "location-1", 200)
    board.finish(CONTACTS)
    reporter.tick()
    second = received(fd, lambda text: text.count("\n") == 2)
    # Back to the block's first line and erased, then what is running and what has finished.
    assert second.startswith(ERASE_2), repr(second)
    rows = second.removeprefix(ERASE_2).splitlines()
    assert rows[0].startswith(JOBS)
    assert rows[1] == "1 finished, 200 in all"

    # Other output first erases the block; it then prints where the block was.
    _ClearingStream(io.StringIO(), reporter).write("a log line\n")
    assert received(fd, lambda text: len(text) >= len(ERASE_2)) == ERASE_2
    reporter.tick()
    reporter.stop()
    last = received(fd, lambda text: text.endswith(ERASE_2))
    assert last.count("\n") == 2, "drawn again below the other output, and gone at the end"


def test_plain_lines_show_what_moved() -> None:
    board = Board()
    board.count("callrail callrail_companies", 4, "ACC1", 4)
    board.finish("callrail callrail_companies")  # shown by an earlier command
    out = io.StringIO()
    reporter = Reporter(board, out, "plain", 5.0)
    board.count(CONTACTS, 100, "location-1", 400)
    board.count(JOBS, 10, 1, None)
    reporter.tick()
    board.count(JOBS, 20, 1, None)
    reporter.tick()
    board.count(CONTACTS, 300, "location-1", 400)
    board.finish(CONTACTS)
    board.finish(JOBS)
    reporter.stop()  # thread never ticked (5 s): the last counts come out at the stop
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"progress {CONTACTS}",
        f"progress {JOBS}",
        f"progress {JOBS}",
        f"progress {CONTACTS}",
        f"progress {JOBS}",
    ]
    assert re.fullmatch(
        rf"progress {CONTACTS}: 100/400 records, [\d,]+/s, 25% eta (\d+:\d\d|-)", lines[0]
    ), lines[0]
    assert lines[1].startswith(f"progress {JOBS}: 10 records, ") and "%" not in lines[1]
    assert lines[2].startswith(f"progress {JOBS}: 30 records, ")
    assert lines[3].startswith(f"progress {CONTACTS}: 400/400 records, ")
    assert lines[3].endswith(", done") and lines[4].endswith(", done")


def test_a_childs_counters_reach_the_parents_board() -> None:
    child = f"""
from lazi.progress import BOARD, reporting
with reporting():
    BOARD.count({CONTACTS!r}, 5, "location-1", 20)
    print("an ordinary line")
    BOARD.count({CONTACTS!r}, 15, "location-1", 20)
    BOARD.finish({CONTACTS!r})
"""
    board = Board()
    result = run_relaying([sys.executable, "-c", child], board=board, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "an ordinary line\n"
    [meter] = board.meters()
    assert (meter.name, meter.done, meter.total, meter.finished) == (CONTACTS, 20, 20, True)
    assert not meter.stopped


def test_a_childs_counters_it_did_not_end_stop_when_it_exits() -> None:
    child = f"""
from lazi.progress import BOARD, reporting
with reporting():
    BOARD.count({CONTACTS!r}, 5, "location-1", 20)
    BOARD.count({JOBS!r}, 7, 1, None)
    BOARD.finish({JOBS!r})
    raise SystemExit(3)
"""
    board = Board()
    result = run_relaying([sys.executable, "-c", child], board=board, cwd=PROJECT_ROOT)
    assert result.returncode == 3, result.stderr
    meters = {m.name: (m.done, m.finished, m.stopped) for m in board.meters()}
    assert meters == {CONTACTS: (5, True, True), JOBS: (7, True, False)}


def test_a_counter_ends_once_and_the_next_sync_restarts_it() -> None:
    board = Board()
    out = io.StringIO()
    reporter = Reporter(board, out, "plain", 5.0)
    board.count(CONTACTS, 50, "location-1", 200, restart=True)
    board.finish(CONTACTS, stopped=True)  # the sync failed
    board.count(CONTACTS, 50, "location-1", 200)  # a feed not yet stopped: not counted
    board.finish(CONTACTS)
    reporter.tick()
    board.count(CONTACTS, 20, "location-1", 200, restart=True)  # the next sync
    reporter.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(rf"progress {CONTACTS}: 50/200 records, [\d,]+/s, stopped", lines[0])
    assert re.fullmatch(
        rf"progress {CONTACTS}: 20/200 records, [\d,]+/s, 10% eta (\d+:\d\d|-)", lines[1]
    ), lines[1]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LAZI_PROGRESS_INTERVAL", "0", "is not a positive number of seconds"),
        ("LAZI_PROGRESS_INTERVAL", "soon", "is not a positive number of seconds"),
        ("LAZI_PROGRESS", "loud", "is not one of auto, plain, json, off"),
    ],
)
def test_bad_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(LaziError, match=message):
        settings()
