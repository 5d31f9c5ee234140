"""``Calls``: the analytics calls of one pack build, each made once."""

from __future__ import annotations

import inspect
from typing import Any, Callable


class Calls:
    """The analytics calls of one pack build, each made once: the sections ask for some of the same
    figures (the engagement measure's summary, trend, comparison and months are the caseload's
    total, the period's child trends, the team comparison and the team months; the caseload's
    total is the engagement summary), so a repeat (the same function with the same arguments,
    defaults filled in) returns the frame already made. Callers read the frames, never change them."""

    def __init__(self, con, done: dict[tuple, Any] | None = None) -> None:
        self.con = con
        self._done: dict[tuple, Any] = dict(done or {})

    @property
    def done(self) -> dict[tuple, Any]:
        """The calls made so far and their results (another build of the same pack starts from them)."""
        return dict(self._done)

    def __call__(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(fn).bind(self.con, *args, **kwargs)
        bound.apply_defaults()
        key = (fn.__module__, fn.__qualname__, tuple(bound.arguments.items())[1:])
        if key not in self._done:
            self._done[key] = fn(self.con, *args, **kwargs)
        return self._done[key]
