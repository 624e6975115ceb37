"""Fetch the next page while the current one is being processed.

Export-style feeds are strictly sequential (each request needs the previous response's
token), but turning a page into raw rows costs about as much as fetching it; a producer thread
overlaps the two.

A page fetched ahead is parsed JSON, tens of MB for 5,000 records, and ServiceTitan alone has
28 endpoints, each with its own feed, and one page ahead each is held at once in a sync of all
of them. So pages are fetched ahead only with one of a few permits shared by every
feed of the process; a feed without one fetches when its consumer asks for the next page.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import TypeVar, cast

T = TypeVar("T")
_DONE = object()
READ_AHEAD_PAGES = 4  # the feeds that type pages at once (feed.PRODUCERS), and one more
READ_AHEAD = threading.BoundedSemaphore(READ_AHEAD_PAGES)
_POLL_S = 0.2  # a permit freed by another feed wakes nobody here: look again this often


def prefetch(
    pages: Iterator[T], depth: int = 1, read_ahead: threading.Semaphore = READ_AHEAD
) -> Iterator[T]:
    """The pages of `pages`, in order, with up to `depth` of them fetched ahead while a permit
    of `read_ahead` is free. The producer's exceptions are raised here, in order."""
    changed = threading.Condition()
    box: deque[tuple[object, bool]] = deque()
    asking = False  # the consumer waits and the box is empty: fetch without a permit
    stopped = False

    def slot() -> bool | None:
        """Wait until a page may be fetched: True ahead (a permit taken), False asked for,
        None when the consumer has gone."""
        nonlocal asking
        with changed:
            while not stopped:
                if asking and not box:
                    asking = False
                    return False
                if len(box) < depth and read_ahead.acquire(blocking=False):
                    return True
                changed.wait(_POLL_S)
            return None

    def deliver(item: object, ahead: bool) -> bool:
        with changed:
            if not stopped:
                box.append((item, ahead))
                changed.notify_all()
                return True
        if ahead:
            read_ahead.release()
        return False

    def produce() -> None:
        while True:
            ahead = slot()
            if ahead is None:
                return
            try:
                page = next(pages, _DONE)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                deliver(exc, ahead)
                return
            if not deliver(page, ahead) or page is _DONE:
                return

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            with changed:
                while not box:
                    asking = True
                    changed.notify_all()
                    changed.wait()
                item, ahead = box.popleft()
                asking = False  # a page fetched ahead answered it
                changed.notify_all()
            if ahead:
                read_ahead.release()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)  # neither _DONE nor an exception: one of `pages`
    finally:
        with changed:
            stopped = True
            left = [ahead for _, ahead in box if ahead]
            box.clear()
            changed.notify_all()
        for _ in left:
            read_ahead.release()
        worker.join(timeout=5)
