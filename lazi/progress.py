"""Live progress of syncs and dbt builds while a command runs.

A sync's feeds count the records each endpoint has fetched, and dbt's callbacks the nodes a
build has finished, on one board per process (`BOARD`). `reporting()` shows the board while a
command works: in a terminal a block of lines redrawn in place (a bar and an ETA where the
vendor says how many records there are), otherwise one plain line per counter that moved, every
LAZI_PROGRESS_INTERVAL seconds (default 5), e.g.

    progress servicetitan st_customers: 12,345 records, 2,100/s
    progress gohighlevel ghl_contacts: 1,200/2,600 records, 400/s, 46% eta 0:03

A counter ends once: `done` after its last page, `stopped` when its sync failed first.

`lazi run` syncs each vendor in a child process with LAZI_PROGRESS=json: the child prints its
counters as JSON lines that the parent moves onto its own board (`run_relaying`), so one block
shows every vendor. LAZI_PROGRESS=plain forces plain lines, =off shows nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

import orjson

from lazi.errors import LaziError

INTERVAL_ENV = "LAZI_PROGRESS_INTERVAL"
MODE_ENV = "LAZI_PROGRESS"
MODES = ("auto", "plain", "json", "off")
DEFAULT_INTERVAL_S = 5.0
RELAY_INTERVAL_S = 1.0  # a child's counters reach the parent's screen at least this often
REDRAW_S = 0.5  # a terminal block is redrawn this often
RELAY_PREFIX = "lazi-progress "
BAR_WIDTH = 20


@dataclass
class Meter:
    """What one endpoint (or a dbt build) has done so far."""

    name: str
    unit: str = "records"
    done: int = 0
    # The vendor's count of records per scope (tenant, location, account); None where a scope's
    # listing gives none. A bar needs a count for every scope seen so far.
    totals: dict[str, int | None] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    stopped: bool = False  # ended without its last page: the sync failed

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def total(self) -> int | None:
        if not self.totals or any(count is None for count in self.totals.values()):
            return None
        return sum(count for count in self.totals.values() if count is not None)

    def rate(self, now: float) -> float:
        return self.done / max((self.ended or now) - self.started, 1e-3)

    def line(self, now: float) -> str:
        """`12,345/27,000 records, 2,100/s, 45% eta 0:07`: the plain form."""
        total = self.total
        text = f"{self.done:,}/{total:,}" if total is not None else f"{self.done:,}"
        text += f" {self.unit}, {self.rate(now):,.0f}/s"
        if self.finished:
            return text + (", stopped" if self.stopped else ", done")
        fraction = self.fraction()
        if fraction is None:
            return text
        return text + f", {fraction:.0%} eta {self.eta(now)}"

    def fraction(self) -> float | None:
        total = self.total
        if total is None:
            return None
        if self.finished:
            return 1.0
        # Short of done until the end: the total covers only the scopes (tenants, locations,
        # accounts) begun so far, and a listing read again counts its records twice.
        return min(self.done / total, 0.99) if total else 0.0

    def eta(self, now: float) -> str:
        total, rate = self.total, self.rate(now)
        if total is None or total <= self.done or rate <= 0:
            return "-"
        seconds = int((total - self.done) / rate)
        hours, minutes = divmod(seconds // 60, 60)
        return (
            f"{hours}:{minutes:02d}:{seconds % 60:02d}"
            if hours
            else f"{minutes}:{seconds % 60:02d}"
        )

    def row(self, now: float, name_width: int) -> str:
        """The terminal form: `name  [#####.....]  45%  12,345/27,000 records  2,100/s  eta 0:07`,
        without the bar, share and ETA where no total is known."""
        counted = f"{self.done:,} {self.unit}  {self.rate(now):,.0f}/s"
        fraction = self.fraction()
        if fraction is None:
            return f"{self.name:<{name_width}}  {counted}"
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        counted = f"{self.done:,}/{self.total:,} {self.unit}  {self.rate(now):,.0f}/s"
        return f"{self.name:<{name_width}}  [{bar}] {fraction:4.0%}  {counted}  eta {self.eta(now)}"


class Board:
    """The meters of this process; feeds and dbt's callbacks write from their own threads."""

    def __init__(self) -> None:
        self._meters: dict[str, Meter] = {}
        self._lock = threading.Lock()

    def count(
        self,
        name: str,
        records: int,
        scope: Any = None,
        total: int | None = None,
        *,
        restart: bool = False,
    ) -> None:
        """`records` more fetched for `name`; `total` is the vendor's count for the scope.
        `restart`: the first count of a sync, which begins from zero whatever an earlier sync
        of the endpoint in this process left (finished or stopped half-way)."""
        with self._lock:
            meter = self._meters.get(name)
            if meter is None or restart:
                meter = self._meters[name] = Meter(name)
            elif meter.finished:
                # A feed still running after its sync ended it (Feeds.close): a count after the
                # last line would make that line wrong.
                return
            meter.done += records
            if scope is not None:
                meter.totals[str(scope)] = total

    def set(
        self,
        name: str,
        done: int,
        *,
        unit: str = "records",
        total: int | None = None,
        finished: bool = False,
        stopped: bool = False,
        elapsed: float | None = None,
    ) -> None:
        """A counter as someone else counted it: dbt, or a child process (`relay`)."""
        with self._lock:
            meter = self._meters.get(name)
            if meter is None or (meter.finished and not finished):
                meter = self._meters[name] = Meter(name, unit)
            if elapsed is not None:
                meter.started = time.monotonic() - elapsed
            meter.done = done
            meter.totals = {"": total} if total is not None else {}
            if finished and meter.ended is None:
                meter.ended = time.monotonic()
                meter.stopped = stopped

    def finish(self, name: str, *, stopped: bool = False) -> None:
        """`name` has ended: done, or `stopped` before its last page. A counter ends once."""
        with self._lock:
            meter = self._meters.get(name)
            if meter is not None and meter.ended is None:
                meter.ended = time.monotonic()
                meter.stopped = stopped

    def meters(self) -> list[Meter]:
        """Copies, in the order the counters started."""
        with self._lock:
            return [replace(meter, totals=dict(meter.totals)) for meter in self._meters.values()]

    def relay(self, line: str) -> str | None:
        """Take over a counter a child printed: its name; None when `line` is not one."""
        if not line.startswith(RELAY_PREFIX):
            return None
        try:
            data = orjson.loads(line[len(RELAY_PREFIX) :])
            name = str(data["name"])
            self.set(
                name,
                int(data["done"]),
                unit=str(data["unit"]),
                total=data["total"],
                finished=bool(data["finished"]),
                stopped=bool(data["stopped"]),
                elapsed=float(data["elapsed"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        return name


BOARD = Board()


class DbtProgress:
    """A dbtRunner callback: how many of the build's nodes (models, tests, snapshots, seeds)
    have finished, out of the count dbt numbers its start lines with."""

    name = "dbt build"

    def __init__(self, board: Board = BOARD) -> None:
        self._board = board
        self._done = 0
        self._total: int | None = None
        self._lock = threading.Lock()  # dbt runs nodes on threads of its own

    def __call__(self, event: Any) -> None:
        kind = event.info.name
        if kind not in ("LogStartLine", "NodeFinished"):
            return
        with self._lock:
            if kind == "LogStartLine":
                self._total = int(event.data.total) or None
            else:
                self._done += 1
            self._board.set(self.name, self._done, unit="nodes", total=self._total)

    def finish(self) -> None:
        with self._lock:
            if self._done or self._total:
                self._board.set(
                    self.name, self._done, unit="nodes", total=self._total, finished=True
                )


def settings() -> tuple[str, float]:
    """(mode, seconds between plain lines) from LAZI_PROGRESS and LAZI_PROGRESS_INTERVAL."""
    mode = os.environ.get(MODE_ENV, "auto") or "auto"
    if mode not in MODES:
        raise LaziError(f"{MODE_ENV}={mode!r} is not one of {', '.join(MODES)}")
    text = os.environ.get(INTERVAL_ENV)
    try:
        interval = float(text) if text else DEFAULT_INTERVAL_S
    except ValueError:
        interval = -1.0
    if not interval > 0:
        raise LaziError(f"{INTERVAL_ENV}={text!r} is not a positive number of seconds")
    return mode, interval


class Reporter:
    """A thread that shows the board on `stream` until stopped."""

    def __init__(self, board: Board, stream: TextIO, mode: str, interval: float) -> None:
        self._board = board
        self._stream = stream
        self._mode = mode
        self._interval = min(interval, RELAY_INTERVAL_S) if mode == "json" else interval
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._drawn = 0  # lines of the terminal block now on screen
        # What each counter showed last: only moves are printed, and not what an earlier
        # command in this process already showed.
        self._shown = {m.name: self._key(m) for m in board.meters()}
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()
        with self._lock:
            if self._mode == "terminal":
                self.clear()
            else:
                self._print_moves()

    def clear(self) -> None:
        """Erase the terminal block (before anything else writes to the terminal)."""
        with self._lock:
            if self._drawn:
                # to the start of the block's first line, then erase to the end of the screen
                self._stream.write(f"\x1b[{self._drawn}F\x1b[J")
                self._stream.flush()
                self._drawn = 0

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Erase the terminal block and keep it off while other output is written."""
        with self._lock:
            self.clear()
            yield

    def tick(self) -> None:
        """Show what moved: redraw the terminal block, or print a line per moved counter."""
        with self._lock:
            if self._mode == "terminal":
                self._redraw()
            else:
                self._print_moves()

    def _run(self) -> None:
        period = REDRAW_S if self._mode == "terminal" else self._interval
        while not self._stop.wait(period):
            self.tick()

    @staticmethod
    def _key(meter: Meter) -> tuple[int, bool, bool]:
        return meter.done, meter.finished, meter.stopped

    def _print_moves(self) -> None:
        now = time.monotonic()
        for meter in self._board.meters():
            if self._shown.get(meter.name) == self._key(meter):
                continue
            self._shown[meter.name] = self._key(meter)
            if self._mode == "json":
                text = (
                    RELAY_PREFIX
                    + orjson.dumps(
                        {
                            "name": meter.name,
                            "unit": meter.unit,
                            "done": meter.done,
                            "total": meter.total,
                            "finished": meter.finished,
                            "stopped": meter.stopped,
                            "elapsed": round((meter.ended or now) - meter.started, 3),
                        }
                    ).decode()
                )
            else:
                text = f"progress {meter.name}: {meter.line(now)}"
            self._stream.write(text + "\n")
        self._stream.flush()

    def _redraw(self) -> None:
        now = time.monotonic()
        meters = self._board.meters()
        active = [m for m in meters if not m.finished]
        done = [m for m in meters if m.finished and m.name not in self._shown]
        if not active and not done:
            self.clear()
            return
        width, height = _terminal_size(self._stream)
        name_width = max(len(m.name) for m in active + done)
        shown = active[: max(height - 3, 1)]
        lines = [m.row(now, name_width) for m in shown]
        if len(active) > len(shown):
            lines.append(f"… and {len(active) - len(shown)} more")
        if done:
            lines.append(f"{len(done)} finished, {sum(m.done for m in done):,} in all")
        self.clear()
        # A line wider than the terminal would wrap, and the block's height would be wrong.
        self._stream.write("".join(line[: width - 1] + "\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)


def _terminal_size(stream: TextIO) -> tuple[int, int]:
    try:
        columns, lines = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        columns = lines = 0
    return columns or 80, lines or 24


class _ClearingStream:
    """sys.stdout or sys.stderr while a terminal block is shown: erase the block before any
    other output, which then prints where the block was; the next redraw puts it below."""

    def __init__(self, stream: TextIO, reporter: Reporter) -> None:
        self._stream = stream
        self._reporter = reporter

    def write(self, text: str) -> int:
        with self._reporter.holding():
            return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClearingFilter(logging.Filter):
    """The same for logging handlers that hold the real stream (Prefect's console)."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self._reporter = reporter

    def filter(self, record: logging.LogRecord) -> bool:
        # The record is written just after this returns; a redraw comes at most every
        # REDRAW_S, so it seldom lands in between.
        self._reporter.clear()
        return True


@contextmanager
def reporting(board: Board = BOARD, stream: TextIO | None = None) -> Iterator[None]:
    """Show `board` on stdout while the block runs; the last counts are out when it ends."""
    mode, interval = settings()
    out = stream or sys.stdout
    if mode == "auto":
        mode = "terminal" if out.isatty() else "plain"
    if mode == "off":
        yield
        return
    reporter = Reporter(board, out, mode, interval)
    handlers: list[logging.Handler] = []
    saved = sys.stdout, sys.stderr
    if mode == "terminal":
        handlers = _stream_handlers()
        clearing = _ClearingFilter(reporter)
        for handler in handlers:
            handler.addFilter(clearing)
        sys.stdout = _ClearingStream(sys.stdout, reporter)
        sys.stderr = _ClearingStream(sys.stderr, reporter)
    reporter.start()
    try:
        yield
    finally:
        reporter.stop()
        if mode == "terminal":
            sys.stdout, sys.stderr = saved
            for handler in handlers:
                handler.removeFilter(clearing)


def _stream_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return [
        handler
        for logger in loggers
        for handler in logger.handlers
        # a file's log does not share the screen
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
    ]


def run_relaying(
    args: Sequence[str], *, board: Board = BOARD, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """subprocess.run(args, capture_output=True, text=True) for a `lazi` command whose progress
    should show here: the child prints its counters as JSON lines, which go onto `board` as
    they come and are left out of the returned stdout. A counter the child did not end when it
    exits (it failed, or was killed) ends as stopped: it must not stay running on `board`."""
    env = {**(popen.pop("env", None) or os.environ), MODE_ENV: "json"}
    kept: list[str] = []
    errors: list[str] = []
    relayed: set[str] = set()
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        stderr = proc.stderr
        reader = threading.Thread(target=_collect, args=(stderr, errors.append), daemon=True)
        reader.start()
        for line in proc.stdout:
            name = board.relay(line)
            if name is None:
                kept.append(line)
            else:
                relayed.add(name)
        reader.join()
        returncode = proc.wait()
    for name in relayed:
        board.finish(name, stopped=True)  # no-op for the counters the child finished
    return subprocess.CompletedProcess(list(args), returncode, "".join(kept), "".join(errors))


def _collect(stream: TextIO, keep: Callable[[str], None]) -> None:
    for line in stream:
        keep(line)
