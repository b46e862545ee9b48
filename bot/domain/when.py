"""WHEN: when a scheduled action runs (SPEC section 3).

`parse_when(text)` turns the user's words into a `WhenSpec` value; `next_run(spec, now=, tz=)`
turns a spec into the next UTC instant. Pure: no clock is read here, `now` is always passed in.

The forms::

    at HH:MM                              once, the next time the clock in tz shows HH:MM
    at YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]    once, at that moment (an explicit offset wins over tz)
    in N(s|m|h)                           once, that long after now
    daily HH:MM, weekdays HH:MM           every day / Monday to Friday (also `weekends`)
    mon,wed,fri HH:MM                     on those days (mon/monday, tue/tues/tuesday, ...)
    at start, N(s|m|h) after start        every time the conference starts, that long after

The recurring forms also accept `at` before the time (`weekdays at 09:05`), which is what
`describe()` prints, so a description reads back as the same spec.

Daylight saving time, the rules `next_run` applies:

- Recurring rules keep their wall-clock time: `daily 09:00` in Europe/Paris is 08:00 UTC in winter
  and 07:00 UTC in summer.
- A recurring time that falls into a spring-forward gap runs at the instant the wall time would
  have been with the old offset, which reads as the time shifted forward by the gap: 02:30 in
  Paris on the change day runs at 03:30 CEST (01:30 UTC). This is PEP 495's `fold=0` reading of
  a missing time (cron would run at 03:00 instead).
- A recurring time that occurs twice (autumn fold) runs once, at the first occurrence (`fold=0`).
- A one-shot time that does not exist is refused with a message rather than moved, because the user
  named that moment on purpose; an ambiguous one-shot time means its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import ClassVar, Final

from bot.errors import CommandError

Show = Callable[[str], str]
"""Makes untrusted text safe for the reply's markup; the Slack layer passes its escaper."""

MAX_DELAY: Final = timedelta(days=366)
"""How far ahead a schedule may reach: durations and one-shot times beyond this are refused."""

WHEN_FORMS: Final = (
    "at HH:MM",
    "at YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]",
    "in N(s|m|h)",
    "daily HH:MM",
    "weekdays HH:MM",
    "mon,wed,fri HH:MM",
    "at start",
    "N(s|m|h) after start",
)
WHEN_USAGE: Final = "WHEN is one of: " + ", ".join(f"`{form}`" for form in WHEN_FORMS) + "."

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
ALL_DAYS: Final = frozenset(range(7))
WEEKDAYS: Final = frozenset(range(5))
WEEKENDS: Final = frozenset({5, 6})

_DAY_ALIASES: Final = {
    **{name: day for day, name in enumerate(DAY_NAMES)},
    "monday": 0,
    "tues": 1,
    "tuesday": 1,
    "weds": 2,
    "wednesday": 2,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_DAY_SETS: Final = {"daily": ALL_DAYS, "weekdays": WEEKDAYS, "weekends": WEEKENDS}
_UNITS: Final = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
}

# re.ASCII: `\d`-like classes must not accept other scripts' digits, and the patterns spell [0-9].
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_DURATION = re.compile(r"([0-9]+) ?([a-z]+)", re.ASCII)
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[t ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?"
    r"(?: ?(z|utc|[+-][0-9]{2}(?::?[0-9]{2})?))?",
    re.ASCII,
)
_ECHO_LIMIT: Final = 60
_REACH: Final = f"schedules reach at most {MAX_DELAY.days} days ahead"


def _same(text: str) -> str:
    return text


# --- the specs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneShotAt:
    """`at HH:MM`: once, the next time the clock shows it (today if still ahead, else tomorrow)."""

    at: time
    recurring: ClassVar[bool] = False
    meeting_relative: ClassVar[bool] = False

    def describe(self) -> str:
        return f"at {_clock_text(self.at)}"


@dataclass(frozen=True, slots=True)
class OneShotDateTime:
    """`at 2026-03-01T10:00[+01:00]`: once; naive means "in the user's time zone"."""

    at: datetime
    recurring: ClassVar[bool] = False
    meeting_relative: ClassVar[bool] = False

    def describe(self) -> str:
        return f"at {_datetime_text(self.at)}"


@dataclass(frozen=True, slots=True)
class In:
    """`in 5m`: once, that many seconds after the schedule is made."""

    seconds: int
    recurring: ClassVar[bool] = False
    meeting_relative: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("In.seconds must be positive")

    def describe(self) -> str:
        return f"in {_duration_text(self.seconds)}"


@dataclass(frozen=True, slots=True)
class Weekly:
    """`daily`, `weekdays`, `mon,wed,fri`: at a wall-clock time on those days (0 = Monday)."""

    days: frozenset[int]
    at: time
    recurring: ClassVar[bool] = True
    meeting_relative: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError("Weekly.days must be a non-empty set of 0..6")

    def describe(self) -> str:
        return f"{_days_text(self.days)} at {_clock_text(self.at)}"


@dataclass(frozen=True, slots=True)
class AfterStart:
    """`at start` (0) or `5m after start`: every time the conference starts, that long after."""

    delay_seconds: int
    recurring: ClassVar[bool] = True
    meeting_relative: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.delay_seconds < 0:
            raise ValueError("AfterStart.delay_seconds must not be negative")

    def describe(self) -> str:
        if self.delay_seconds == 0:
            return "at start"
        return f"{_duration_text(self.delay_seconds)} after start"


WhenSpec = OneShotAt | OneShotDateTime | In | Weekly | AfterStart


# --- parsing -------------------------------------------------------------------------------------


def parse_when(text: str, *, show: Show = _same) -> WhenSpec:
    """Read a WHEN; raise `CommandError` naming the problem and listing the forms.

    Everything that can be checked without a clock and a time zone is checked here (ranges,
    impossible dates, zero or too long durations), so a bad WHEN is reported when it is typed;
    past times and DST gaps need both and are `next_run`'s to report.
    """
    norm = " ".join(text.split()).lower()
    if not norm:
        raise CommandError(f"WHEN is missing. {WHEN_USAGE}")
    if norm == "at start":
        return AfterStart(0)
    if norm.endswith(" after start"):
        return AfterStart(_parse_duration(norm.removesuffix(" after start"), show, allow_zero=True))
    first, _, rest = norm.partition(" ")
    if first == "in":
        return In(_parse_duration(rest, show, allow_zero=False))
    if first == "at":
        return _parse_at(rest, show)
    if first in _DAY_SETS:
        return Weekly(_DAY_SETS[first], _parse_clock(rest.removeprefix("at "), show))
    head, _, last = norm.rpartition(" ")
    if head and any(c.isdigit() for c in last):
        days = _parse_days(head.removesuffix(" at"), show)
        return Weekly(days, _parse_clock(last, show))
    raise CommandError(f"*{_echo(text, show)}* is not a WHEN I understand. {WHEN_USAGE}")


def _parse_at(rest: str, show: Show) -> OneShotAt | OneShotDateTime:
    if not rest:
        raise CommandError(f"`at` needs a time, e.g. `at 09:05`. {WHEN_USAGE}")
    if re.match(r"[0-9]{4}-", rest, re.ASCII):
        return OneShotDateTime(_parse_datetime(rest, show))
    return OneShotAt(_parse_clock(rest, show))


def _parse_clock(text: str, show: Show) -> time:
    match = _CLOCK.fullmatch(text)
    if match is None:
        shown = f"*{_echo(text, show)}* is not" if text else "Missing"
        raise CommandError(f"{shown} a time of day: use HH:MM, e.g. `09:05`. {WHEN_USAGE}")
    return _checked_time(text, int(match[1]), int(match[2]), 0, show)


def _checked_time(text: str, hour: int, minute: int, second: int, show: Show) -> time:
    if hour > 23:
        raise CommandError(f"*{_echo(text, show)}*: the hour must be 00 to 23.")
    if minute > 59:
        raise CommandError(f"*{_echo(text, show)}*: the minutes must be 00 to 59.")
    if second > 59:
        raise CommandError(f"*{_echo(text, show)}*: the seconds must be 00 to 59.")
    return time(hour, minute, second)


def _parse_datetime(text: str, show: Show) -> datetime:
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise CommandError(
            f"*{_echo(text, show)}* is not a date and time: use `YYYY-MM-DDTHH:MM`, optionally "
            "with seconds and an offset (`Z` or `+01:00`), e.g. `at 2026-03-01T10:00`."
        )
    year, month, day, hour, minute = (int(match[i]) for i in range(1, 6))
    clock = _checked_time(text, hour, minute, int(match[6] or 0), show)
    try:
        day_date = date(year, month, day)
    except ValueError:
        raise CommandError(
            f"*{year:04d}-{month:02d}-{day:02d}* is not a date on the calendar."
        ) from None
    return datetime.combine(day_date, clock, tzinfo=_parse_offset(match[7], show))


def _parse_offset(text: str | None, show: Show) -> tzinfo | None:
    if text is None:
        return None
    if text in ("z", "utc"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise CommandError(f"*{_echo(text, show)}* is not a UTC offset: use ±HH:MM, e.g. `+01:00`.")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _parse_duration(text: str, show: Show, *, allow_zero: bool) -> int:
    match = _DURATION.fullmatch(text)
    if match is None or match[2] not in _UNITS:
        if text.startswith("-"):
            raise CommandError(f"*{_echo(text, show)}*: a delay cannot be negative.")
        raise CommandError(
            f"*{_echo(text, show)}* is not a duration: use a whole number and s, m or h, "
            f"e.g. `90s`, `5m`, `2h`. {WHEN_USAGE}"
        )
    digits = match[1].lstrip("0") or "0"
    # Compare lengths before int(): a thousand-digit number is still just "too long".
    limit = int(MAX_DELAY.total_seconds())
    if len(digits) > 12 or int(digits) * _UNITS[match[2]] > limit:
        raise CommandError(f"*{_echo(text, show)}* is too long: {_REACH}.")
    seconds = int(digits) * _UNITS[match[2]]
    if seconds == 0 and not allow_zero:
        raise CommandError(f"*{_echo(text, show)}*: the delay must be more than zero.")
    return seconds


def _parse_days(text: str, show: Show) -> frozenset[int]:
    days: set[int] = set()
    for name in re.split(r"[ ,]+", text.strip(" ,")):
        if name not in _DAY_ALIASES:
            raise CommandError(
                f"Unknown day *{_echo(name, show)}*: days are {', '.join(DAY_NAMES)} "
                "(or their full names), e.g. `mon,wed,fri 09:00`."
            )
        days.add(_DAY_ALIASES[name])
    return frozenset(days)


# --- describing ----------------------------------------------------------------------------------


def _clock_text(at: time) -> str:
    return f"{at:%H:%M}" if at.second == 0 else f"{at:%H:%M:%S}"


def _datetime_text(at: datetime) -> str:
    # f-string fields rather than strftime("%Y"), which does not zero-pad years before 1000.
    text = f"{at.year:04d}-{at.month:02d}-{at.day:02d} {_clock_text(at.time())}"
    offset = at.utcoffset()
    if offset is None:
        return text
    if offset == timedelta(0):
        return f"{text} UTC"
    minutes = int(abs(offset).total_seconds()) // 60
    sign = "-" if offset < timedelta(0) else "+"
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _duration_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _days_text(days: frozenset[int]) -> str:
    for word, day_set in _DAY_SETS.items():
        if days == day_set:
            return word
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def _echo(text: str, show: Show) -> str:
    """User text quoted back: trimmed to a readable length, then made safe by `show`."""
    text = " ".join(text.split())
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 1] + "…"
    return show(text)


# --- next run ------------------------------------------------------------------------------------


def next_run(
    spec: WhenSpec, *, now: datetime, tz: tzinfo, after: datetime | None = None
) -> datetime | None:
    """The next run of `spec` strictly after `after` (default `now`), as an aware UTC datetime.

    `tz` is the user's zone, for times written without an offset. Meeting-relative specs return
    None: they run when their conference starts, not at a clock time.

    One-shot forms are anchored to `now` (`in 5m`, `at 09:05`), so compute them once, when the
    schedule is made, and store the result. Called that way (`after` left out), a one-shot in the
    past, a missing wall time (DST gap) or one more than `MAX_DELAY` ahead raises `CommandError`.
    With `after` given, a one-shot returns its time if that is after `after`, else None (it has
    already run); recurring forms always return the next occurrence after `after`.
    """
    _require_aware(now, "now")
    if after is not None:
        _require_aware(after, "after")
    if isinstance(spec, AfterStart):
        return None
    if isinstance(spec, Weekly):
        return _next_weekly(spec, tz, after if after is not None else now)
    try:
        run = _one_shot(spec, now, tz)
    except OverflowError:
        raise CommandError(f"`{spec.describe()}` is outside the calendar I can schedule.") from None
    if after is not None:
        return run if run > after else None
    if run <= now:
        local_now = now.astimezone(tz)
        raise CommandError(
            f"`{spec.describe()}` is in the past: it is now "
            f"{_datetime_text(local_now.replace(tzinfo=None))} in {_zone_name(tz)}."
        )
    if run - now > MAX_DELAY:
        raise CommandError(f"`{spec.describe()}` is too far ahead: {_REACH}.")
    return run


def _require_aware(moment: datetime, name: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _one_shot(spec: OneShotAt | OneShotDateTime | In, now: datetime, tz: tzinfo) -> datetime:
    if isinstance(spec, In):
        # In UTC: adding to a zoned datetime is wall-clock arithmetic and would be off by an hour
        # across a DST change.
        return now.astimezone(UTC) + timedelta(seconds=spec.seconds)
    if isinstance(spec, OneShotAt):
        return _next_clock_time(spec.at, now, tz)
    if spec.at.utcoffset() is not None:  # an explicit offset wins over the user's zone
        return spec.at.astimezone(UTC)
    _require_exists(spec.at, tz)
    return _instant(spec.at, tz, fold=0)


def _next_clock_time(at: time, now: datetime, tz: tzinfo) -> datetime:
    """Today at `at` if the wall clock has not reached it yet, else tomorrow."""
    local_now = now.astimezone(tz)
    day = local_now.date()
    # Naive comparison on purpose: "still ahead" is about what the clock on the wall shows.
    if datetime.combine(day, at) <= local_now.replace(tzinfo=None):
        day += timedelta(days=1)
    wall = datetime.combine(day, at)
    _require_exists(wall, tz)
    first = _instant(wall, tz, fold=0)
    # In an autumn fold the first 01:30 may be behind us while the repeated one is still ahead.
    return first if first > now else _instant(wall, tz, fold=1)


def _next_weekly(spec: Weekly, tz: tzinfo, after: datetime) -> datetime:
    start = after.astimezone(tz).date()
    # Eight days cover "today, but the time has passed" for a rule with a single weekday.
    for offset in range(8):
        day = start + timedelta(days=offset)
        if day.weekday() not in spec.days:
            continue
        # fold=0: a time in a spring gap moves forward by the gap; a doubled time runs first time.
        run = _instant(datetime.combine(day, spec.at), tz, fold=0)
        if run > after:
            return run
    raise AssertionError("a weekly rule always has a run within eight days")  # pragma: no cover


def _instant(wall: datetime, tz: tzinfo, *, fold: int) -> datetime:
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _require_exists(wall: datetime, tz: tzinfo) -> None:
    """Refuse a wall time the clocks skip: local -> UTC -> local does not come back to it."""
    back = _instant(wall, tz, fold=0).astimezone(tz).replace(tzinfo=None)
    if back != wall:
        raise CommandError(
            f"{_clock_text(wall.time())} does not exist on {wall.date().isoformat()} in "
            f"{_zone_name(tz)} (clocks go forward); pick another time."
        )


def _zone_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)
