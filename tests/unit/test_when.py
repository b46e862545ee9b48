"""WHEN: every form, every refusal, and the clock rules around DST changes (SPEC section 3)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.when import (
    ALL_DAYS,
    WEEKDAYS,
    WEEKENDS,
    AfterStart,
    In,
    OneShotAt,
    OneShotDateTime,
    Weekly,
    WhenSpec,
    next_run,
    parse_when,
)
from bot.errors import CommandError

LONDON = ZoneInfo("Europe/London")
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [LONDON, PARIS, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz, fold=fold)


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("at 09:05", OneShotAt(time(9, 5))),
        ("at 9:05", OneShotAt(time(9, 5))),
        ("AT 23:59", OneShotAt(time(23, 59))),
        ("at 00:00", OneShotAt(time(0, 0))),
        ("at 2026-03-01T10:00", OneShotDateTime(datetime(2026, 3, 1, 10, 0))),
        ("at 2026-03-01t10:00", OneShotDateTime(datetime(2026, 3, 1, 10, 0))),
        ("at 2026-03-01 10:00", OneShotDateTime(datetime(2026, 3, 1, 10, 0))),
        ("at 2026-03-01T10:00:30", OneShotDateTime(datetime(2026, 3, 1, 10, 0, 30))),
        ("at 2026-03-01T10:00Z", OneShotDateTime(utc(2026, 3, 1, 10, 0))),
        ("at 2026-03-01 10:00 UTC", OneShotDateTime(utc(2026, 3, 1, 10, 0))),
        (
            "at 2026-03-01T10:00+02:00",
            OneShotDateTime(datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))),
        ),
        (
            "at 2026-03-01T10:00:15-05:30",
            OneShotDateTime(
                datetime(2026, 3, 1, 10, 0, 15, tzinfo=timezone(-timedelta(hours=5, minutes=30)))
            ),
        ),
        ("at 2028-02-29T12:00", OneShotDateTime(datetime(2028, 2, 29, 12, 0))),
        ("in 90s", In(90)),
        ("in 5m", In(300)),
        ("in 2h", In(7200)),
        ("in 5 minutes", In(300)),
        ("in 1 hour", In(3600)),
        ("in 8784h", In(366 * 86400)),
        ("daily 09:00", Weekly(ALL_DAYS, time(9, 0))),
        ("daily at 09:00", Weekly(ALL_DAYS, time(9, 0))),
        ("weekdays 09:05", Weekly(WEEKDAYS, time(9, 5))),
        ("Weekdays at 9:05", Weekly(WEEKDAYS, time(9, 5))),
        ("weekends 10:00", Weekly(WEEKENDS, time(10, 0))),
        ("mon,wed,fri 09:05", Weekly(frozenset({0, 2, 4}), time(9, 5))),
        ("Monday, Tues, THURSDAY 18:30", Weekly(frozenset({0, 1, 3}), time(18, 30))),
        ("weds,thur,thurs,sat,sun 07:00", Weekly(frozenset({2, 3, 5, 6}), time(7, 0))),
        ("tue at 08:00", Weekly(frozenset({1}), time(8, 0))),
        ("mon,tue,wed,thu,fri,sat,sun 06:00", Weekly(ALL_DAYS, time(6, 0))),
        ("at start", AfterStart(0)),
        ("  AT   START ", AfterStart(0)),
        ("5m after start", AfterStart(300)),
        ("30s after start", AfterStart(30)),
        ("0m after start", AfterStart(0)),
    ],
)
def test_every_form_parses(text: str, spec: WhenSpec) -> None:
    assert parse_when(text) == spec


@pytest.mark.parametrize(
    ("spec", "described", "recurring", "meeting_relative"),
    [
        (OneShotAt(time(9, 5)), "at 09:05", False, False),
        (OneShotDateTime(datetime(2026, 3, 1, 10, 0)), "at 2026-03-01 10:00", False, False),
        (OneShotDateTime(utc(2026, 3, 1, 10, 0, 5)), "at 2026-03-01 10:00:05 UTC", False, False),
        (
            OneShotDateTime(datetime(2026, 3, 1, 10, 0, tzinfo=timezone(-timedelta(hours=5)))),
            "at 2026-03-01 10:00-05:00",
            False,
            False,
        ),
        (In(90), "in 90s", False, False),
        (In(5400), "in 90m", False, False),
        (In(7200), "in 2h", False, False),
        (Weekly(ALL_DAYS, time(9, 0)), "daily at 09:00", True, False),
        (Weekly(WEEKDAYS, time(9, 5)), "weekdays at 09:05", True, False),
        (Weekly(WEEKENDS, time(9, 5)), "weekends at 09:05", True, False),
        (Weekly(frozenset({4, 0, 2}), time(9, 5)), "mon,wed,fri at 09:05", True, False),
        (AfterStart(0), "at start", True, True),
        (AfterStart(300), "5m after start", True, True),
    ],
)
def test_describe_and_flags(
    spec: WhenSpec, described: str, recurring: bool, meeting_relative: bool
) -> None:
    assert spec.describe() == described
    assert spec.recurring is recurring
    assert spec.meeting_relative is meeting_relative
    assert parse_when(described) == spec  # a description reads back as the same spec


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "WHEN is missing"),
        ("   ", "WHEN is missing"),
        ("at", "`at` needs a time"),
        ("at noon", "*noon* is not a time of day"),
        ("at 25:00", "the hour must be 00 to 23"),
        ("at 24:00", "the hour must be 00 to 23"),
        ("at 09:60", "the minutes must be 00 to 59"),
        ("at 9", "*9* is not a time of day"),
        ("daily", "Missing a time of day"),
        ("daily 9am", "*9am* is not a time of day"),
        ("weekdays 09:75", "the minutes must be 00 to 59"),
        ("at 2026-02-30T10:00", "*2026-02-30* is not a date on the calendar"),
        ("at 2027-02-29T10:00", "*2027-02-29* is not a date on the calendar"),
        ("at 2026-13-01T10:00", "*2026-13-01* is not a date on the calendar"),
        ("at 2026-00-10T10:00", "*2026-00-10* is not a date on the calendar"),
        ("at 2026-03-01T10:00:61", "the seconds must be 00 to 59"),
        ("at 2026-03-01", "is not a date and time"),
        ("at 2026-03-01T10:00+25:00", "is not a UTC offset"),
        ("at 2026-03-01T10:00+01:75", "is not a UTC offset"),
        ("at 2026-03-01T10:00 Europe/Paris", "is not a date and time"),
        ("in 0s", "the delay must be more than zero"),
        ("in 0m", "the delay must be more than zero"),
        ("in -5m", "a delay cannot be negative"),
        ("in 5", "*5* is not a duration"),
        ("in 5d", "*5d* is not a duration"),
        ("in 1.5h", "is not a duration"),
        ("in", "is not a duration"),
        ("in 8785h", "schedules reach at most 366 days ahead"),
        ("in 99999999999999999999999999999999999999s", "schedules reach at most 366 days"),
        ("in " + "9" * 5000 + "s", "schedules reach at most 366 days"),
        ("-5m after start", "a delay cannot be negative"),
        ("5x after start", "is not a duration"),
        ("mnday 09:00", "Unknown day *mnday*"),
        ("mon,fryday 09:00", "Unknown day *fryday*"),
        ("tomorrow 09:00", "Unknown day *tomorrow*"),
        ("tomorrow", "*tomorrow* is not a WHEN I understand"),
        ("next week", "is not a WHEN I understand"),
        ("at ٠٩:٠٥", "is not a time of day"),  # digits of another script are not HH:MM
    ],
)
def test_bad_when_is_refused_with_a_reason(text: str, needle: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_when(text)
    assert needle in str(caught.value)


def test_unrecognised_when_lists_the_forms() -> None:
    forms = r"WHEN is one of: `at HH:MM`.*`N\(s\|m\|h\) after start`"
    with pytest.raises(CommandError, match=forms):
        parse_when("whenever")


def test_echoed_text_goes_through_show_and_is_trimmed() -> None:
    with pytest.raises(CommandError) as caught:
        parse_when("<!channel> " + "x" * 200, show=lambda s: s.replace("<", "&lt;"))
    message = str(caught.value)
    assert "<!channel>" not in message
    assert "&lt;!channel>" in message
    assert "x" * 100 not in message


@given(st.text())
def test_parse_when_raises_only_command_error(text: str) -> None:
    with contextlib.suppress(CommandError):
        parse_when(text)


_CLOCKS = st.builds(time, st.integers(0, 23), st.integers(0, 59))
_SPECS: st.SearchStrategy[WhenSpec] = st.one_of(
    st.builds(OneShotAt, _CLOCKS),
    st.builds(
        OneShotDateTime,
        st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).map(
            lambda d: d.replace(microsecond=0)
        ),
    ),
    st.builds(In, st.integers(1, 366 * 86400)),
    st.builds(Weekly, st.frozensets(st.integers(0, 6), min_size=1), _CLOCKS),
    st.builds(AfterStart, st.integers(0, 366 * 86400)),
)


@given(_SPECS)
def test_every_description_parses_back(spec: WhenSpec) -> None:
    assert parse_when(spec.describe()) == spec


def test_specs_refuse_impossible_values() -> None:
    with pytest.raises(ValueError):
        In(0)
    with pytest.raises(ValueError):
        Weekly(frozenset(), time(9))
    with pytest.raises(ValueError):
        Weekly(frozenset({7}), time(9))
    with pytest.raises(ValueError):
        AfterStart(-1)


# --- next run: one-shots -------------------------------------------------------------------------


def run(text: str, now: datetime, tz: ZoneInfo, after: datetime | None = None) -> datetime | None:
    return next_run(parse_when(text), now=now, tz=tz, after=after)


def test_at_clock_time_is_today_when_still_ahead() -> None:
    now = local(PARIS, 2026, 1, 15, 8, 0)
    assert run("at 09:05", now, PARIS) == utc(2026, 1, 15, 8, 5)


def test_at_clock_time_is_tomorrow_once_passed() -> None:
    now = local(PARIS, 2026, 1, 15, 9, 5) + timedelta(seconds=30)
    assert run("at 09:05", now, PARIS) == utc(2026, 1, 16, 8, 5)
    assert run("at 09:05", local(PARIS, 2026, 1, 15, 9, 5), PARIS) == utc(2026, 1, 16, 8, 5)


def test_at_clock_time_uses_the_users_zone_not_utc() -> None:
    # 23:30 in New York is already the next day in UTC; "at 23:45" is still today there.
    now = local(NEW_YORK, 2026, 1, 15, 23, 30)
    assert run("at 23:45", now, NEW_YORK) == utc(2026, 1, 16, 4, 45)
    assert run("at 00:10", now, NEW_YORK) == utc(2026, 1, 16, 5, 10)


def test_at_clock_time_rolls_over_the_year_and_leap_day() -> None:
    assert run("at 08:00", local(LONDON, 2026, 12, 31, 9), LONDON) == utc(2027, 1, 1, 8)
    assert run("at 08:00", local(LONDON, 2028, 2, 28, 9), LONDON) == utc(2028, 2, 29, 8)


def test_absolute_time_is_read_in_the_users_zone() -> None:
    now = utc(2026, 1, 1)
    assert run("at 2026-03-01T10:00", now, PARIS) == utc(2026, 3, 1, 9)
    assert run("at 2026-07-01T10:00", now, PARIS) == utc(2026, 7, 1, 8)
    assert run("at 2026-07-01T10:00", now, NEW_YORK) == utc(2026, 7, 1, 14)


def test_explicit_offset_wins_over_the_users_zone() -> None:
    now = utc(2026, 1, 1)
    assert run("at 2026-03-01T10:00Z", now, PARIS) == utc(2026, 3, 1, 10)
    assert run("at 2026-03-01T10:00+05:30", now, NEW_YORK) == utc(2026, 3, 1, 4, 30)
    assert run("at 2026-03-01T10:00-02:00", now, PARIS) == utc(2026, 3, 1, 12)


def test_leap_day_is_a_date() -> None:
    assert run("at 2028-02-29T12:00", utc(2028, 1, 1), LONDON) == utc(2028, 2, 29, 12)


def test_in_counts_real_time_across_dst_changes() -> None:
    spring = local(PARIS, 2026, 3, 29, 1, 59)  # 00:59 UTC, a minute before the gap
    assert run("in 2m", spring, PARIS) == utc(2026, 3, 29, 1, 1)
    autumn = local(PARIS, 2026, 10, 25, 2, 30)  # 00:30 UTC, first pass of the repeated hour
    assert run("in 1h", autumn, PARIS) == utc(2026, 10, 25, 1, 30)
    assert run("in 90s", utc(2026, 5, 1, 12), PARIS) == utc(2026, 5, 1, 12, 1, 30)


def test_result_is_utc() -> None:
    result = run("at 2026-03-01T10:00", utc(2026, 1, 1), PARIS)
    assert result is not None
    assert result.tzinfo is UTC


def test_past_absolute_time_is_refused() -> None:
    with pytest.raises(CommandError, match=r"`at 2020-01-01 10:00` is in the past: it is now "):
        run("at 2020-01-01T10:00", utc(2026, 5, 1, 12), LONDON)


def test_absolute_time_equal_to_now_is_past() -> None:
    with pytest.raises(CommandError, match="in the past"):
        run("at 2026-05-01T12:00Z", utc(2026, 5, 1, 12), LONDON)


def test_one_shot_more_than_a_year_ahead_is_refused() -> None:
    with pytest.raises(CommandError, match="at most 366 days ahead"):
        run("at 2028-01-01T10:00", utc(2026, 1, 1), LONDON)


def test_absolute_time_off_the_calendar_is_refused() -> None:
    with pytest.raises(CommandError, match="outside the calendar"):
        run("at 9999-12-31T23:00-05:00", utc(2026, 1, 1), LONDON)


@pytest.mark.parametrize(
    ("tz", "text", "message"),
    [
        (
            LONDON,
            "at 2027-03-28T01:30",
            "01:30 does not exist on 2027-03-28 in Europe/London (clocks go forward)",
        ),
        (
            PARIS,
            "at 2027-03-28T02:30",
            "02:30 does not exist on 2027-03-28 in Europe/Paris (clocks go forward)",
        ),
        (
            NEW_YORK,
            "at 2026-03-08T02:15:30",
            "02:15:30 does not exist on 2026-03-08 in America/New_York (clocks go forward)",
        ),
    ],
)
def test_one_shot_in_a_dst_gap_is_refused(tz: ZoneInfo, text: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        run(text, utc(2026, 1, 1), tz)
    assert message in str(caught.value)


def test_london_0230_exists_on_its_change_day() -> None:
    # London's gap is 01:00-02:00 local; 02:30 is an ordinary BST time that day.
    assert run("at 2027-03-28T02:30", utc(2027, 1, 1), LONDON) == utc(2027, 3, 28, 1, 30)


def test_at_clock_time_in_tonights_gap_is_refused() -> None:
    with pytest.raises(CommandError, match="02:30 does not exist on 2026-03-29 in Europe/Paris"):
        run("at 02:30", local(PARIS, 2026, 3, 28, 23, 0), PARIS)


def test_at_clock_time_after_the_gap_means_tomorrow() -> None:
    # At 03:15 CEST on the change day the clock has passed 02:30: tomorrow's 02:30 is meant.
    now = local(PARIS, 2026, 3, 29, 3, 15)
    assert run("at 02:30", now, PARIS) == utc(2026, 3, 30, 0, 30)


def test_ambiguous_one_shot_means_the_first_occurrence() -> None:
    # New York, 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    assert run("at 2026-11-01T01:30", utc(2026, 10, 1), NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_at_clock_time_in_the_repeated_hour_takes_the_one_still_ahead() -> None:
    # At 01:15 EST (the second pass), the first 01:45 (EDT) has gone but the second is ahead.
    now = local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1)
    assert run("at 01:45", now, NEW_YORK) == utc(2026, 11, 1, 6, 45)


def test_one_shot_with_after_reports_whether_it_is_still_to_run() -> None:
    now = utc(2026, 5, 1, 12)
    spec = parse_when("at 2026-05-01T13:00Z")
    assert next_run(spec, now=now, tz=LONDON, after=utc(2026, 5, 1, 12, 30)) == utc(2026, 5, 1, 13)
    assert next_run(spec, now=now, tz=LONDON, after=utc(2026, 5, 1, 13)) is None
    # A caller checking a missed run gets its time back, not a "past" refusal.
    later = utc(2026, 5, 1, 14)
    assert next_run(spec, now=later, tz=LONDON, after=utc(2026, 5, 1, 12)) == utc(2026, 5, 1, 13)


def test_meeting_relative_specs_have_no_clock_time() -> None:
    now = utc(2026, 5, 1)
    assert next_run(AfterStart(0), now=now, tz=LONDON) is None
    assert next_run(AfterStart(300), now=now, tz=LONDON, after=now) is None


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(In(60), now=datetime(2026, 1, 1), tz=LONDON)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(In(60), now=utc(2026, 1, 1), tz=LONDON, after=datetime(2026, 1, 1))


# --- next run: recurring -------------------------------------------------------------------------


def test_daily_keeps_wall_clock_time_across_dst() -> None:
    spec = parse_when("daily 09:00")
    assert next_run(spec, now=utc(2026, 1, 15), tz=PARIS) == utc(2026, 1, 15, 8)
    assert next_run(spec, now=utc(2026, 7, 15), tz=PARIS) == utc(2026, 7, 15, 7)
    # Across the spring change: Saturday 08:00 UTC, then Sunday 07:00 UTC.
    saturday = next_run(spec, now=utc(2026, 3, 28), tz=PARIS)
    assert saturday == utc(2026, 3, 28, 8)
    assert next_run(spec, now=utc(2026, 3, 28), tz=PARIS, after=saturday) == utc(2026, 3, 29, 7)


def test_daily_is_strictly_after() -> None:
    spec = parse_when("daily 09:00")
    assert next_run(spec, now=utc(2026, 1, 15, 8), tz=PARIS) == utc(2026, 1, 16, 8)


def test_after_defaults_to_now() -> None:
    spec = parse_when("daily 09:00")
    now = utc(2026, 1, 15, 12)
    assert next_run(spec, now=now, tz=PARIS) == next_run(spec, now=now, tz=PARIS, after=now)


def test_weekdays_roll_over_the_weekend() -> None:
    spec = parse_when("weekdays 09:05")
    friday_evening = local(LONDON, 2026, 1, 16, 18)
    assert next_run(spec, now=friday_evening, tz=LONDON) == utc(2026, 1, 19, 9, 5)  # Monday


def test_day_list_picks_the_next_listed_day() -> None:
    spec = parse_when("mon,wed,fri 09:05")
    monday_late = local(NEW_YORK, 2026, 1, 12, 10)
    assert next_run(spec, now=monday_late, tz=NEW_YORK) == utc(2026, 1, 14, 14, 5)  # Wednesday


def test_single_day_runs_a_week_later_once_passed() -> None:
    spec = parse_when("tue 08:00")
    tuesday_late = local(LONDON, 2026, 1, 13, 9)
    assert next_run(spec, now=tuesday_late, tz=LONDON) == utc(2026, 1, 20, 8)


def test_weekly_crosses_the_leap_day() -> None:
    spec = parse_when("daily 12:00")
    assert next_run(spec, now=utc(2028, 2, 28, 13), tz=LONDON) == utc(2028, 2, 29, 12)
    assert next_run(spec, now=utc(2028, 2, 29, 13), tz=LONDON) == utc(2028, 3, 1, 12)


@pytest.mark.parametrize(
    ("tz", "at", "day", "expected"),
    [
        # The missing wall time runs where the old offset puts it: shifted forward by the gap.
        (PARIS, time(2, 30), (2026, 3, 29), utc(2026, 3, 29, 1, 30)),  # 03:30 CEST
        (LONDON, time(1, 30), (2026, 3, 29), utc(2026, 3, 29, 1, 30)),  # 02:30 BST
        (NEW_YORK, time(2, 30), (2026, 3, 8), utc(2026, 3, 8, 7, 30)),  # 03:30 EDT
        (PARIS, time(2, 0), (2027, 3, 28), utc(2027, 3, 28, 1, 0)),  # 03:00 CEST, the jump
    ],
)
def test_recurring_time_in_a_gap_runs_shifted_forward(
    tz: ZoneInfo, at: time, day: tuple[int, int, int], expected: datetime
) -> None:
    spec = Weekly(ALL_DAYS, at)
    midnight = local(tz, *day)
    first = next_run(spec, now=midnight, tz=tz)
    assert first == expected
    # ...and the day after is back to the plain wall-clock time.
    following = next_run(spec, now=midnight, tz=tz, after=first)
    assert following is not None
    tomorrow = datetime.combine(midnight.date() + timedelta(days=1), at)
    assert following.astimezone(tz).replace(tzinfo=None) == tomorrow


@pytest.mark.parametrize(
    ("tz", "text", "day", "first"),
    [
        (NEW_YORK, "daily 01:30", (2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # 01:30 EDT
        (LONDON, "daily 01:30", (2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # 01:30 BST
        (PARIS, "daily 02:30", (2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # 02:30 CEST
    ],
)
def test_recurring_time_in_a_fold_runs_once_at_the_first(
    tz: ZoneInfo, text: str, day: tuple[int, int, int], first: datetime
) -> None:
    spec = parse_when(text)
    midnight = local(tz, *day)
    assert next_run(spec, now=midnight, tz=tz) == first
    # Asked again after that run, the repeated wall time is skipped: next is the following day.
    again = next_run(spec, now=midnight, tz=tz, after=first)
    assert again is not None
    assert again - first > timedelta(hours=23)
    assert again.astimezone(tz).date() == midnight.date() + timedelta(days=1)


@given(
    spec=st.builds(Weekly, st.frozensets(st.integers(0, 6), min_size=1), _CLOCKS),
    after=st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
)
def test_weekly_next_run_lands_on_a_listed_day_at_its_time(
    spec: Weekly, after: datetime, tz: ZoneInfo
) -> None:
    result = next_run(spec, now=after, tz=tz)
    assert result is not None
    assert after < result <= after + timedelta(days=8)
    wall = result.astimezone(tz)
    assert wall.weekday() in spec.days
    if (wall.hour, wall.minute) != (spec.at.hour, spec.at.minute):
        # Only a DST gap moves a run, and then forward, by the gap, on the listed day.
        assert wall.replace(tzinfo=None) > datetime.combine(wall.date(), spec.at)
        assert wall.replace(tzinfo=None) - datetime.combine(wall.date(), spec.at) <= timedelta(
            hours=1
        )
    following = next_run(spec, now=after, tz=tz, after=result)
    assert following is not None
    assert result < following <= result + timedelta(days=8)


_WHEN_WORDS = st.sampled_from(
    [
        "at",
        "in",
        "daily",
        "weekdays",
        "mon,wed",
        "fri",
        "start",
        "after",
        " ",
        ":",
        "-",
        "+",
        "T",
        "Z",
        "s",
        "m",
        "h",
        "0",
        "1",
        "2",
        "9",
        "00",
        "09:05",
        "02:30",
        "0001-01-01",
        "9999-12-31",
        "2026-03-29",
        "2026-11-01",
        "01:30",
        "+14:00",
        "-12:00",
    ]
)


@given(
    text=st.lists(_WHEN_WORDS, max_size=8).map("".join),
    now=st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
)
def test_any_accepted_when_runs_in_utc_or_is_refused(
    text: str, now: datetime, tz: ZoneInfo
) -> None:
    try:
        result = next_run(parse_when(text), now=now, tz=tz)
    except CommandError:
        return
    assert result is None or (result.tzinfo is UTC and result > now)
