"""Live channel notices: one status message per meeting, join/leave (and talking) lines, summaries.

The engine hands over changes as they happen; this module only marks what is owed to each
watching channel. A flusher pays those debts within Slack's limits:

- at most one Slack call a second per channel, posts and edits together; every line owed to a
  channel goes out in one post, so a burst of 50 joins is one "Ada, Grace and 48 others joined";
- edits also draw on one token bucket for the workspace (about 50 a minute); an edit renders the
  conference as it is at that moment, so bursts coalesce and the newest state wins;
- a 429 pauses that kind of call for its Retry-After; what was owed stays owed, nothing is lost.

Join and leave lines are deduplicated against the set of callers already announced in that channel
for the meeting, persisted with the message anchor: a resync, a reconnect or a restart never
repeats a join, and a leave is only announced for someone whose join was.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.domain.codec import conference_from_dict, conference_to_dict
from bot.domain.events import (
    Change,
    FlagsChanged,
    Joined,
    Left,
    LockedChanged,
    MeetingEnded,
    MeetingStarted,
)
from bot.domain.model import Conference, Meeting, Participant
from bot.metrics import NOTICE_LAG
from bot.slack import render
from bot.slack.poster import MessageGone, Poster, RateLimited
from bot.slack.render import Message
from bot.storage.store import AnchorRow, Store

log = logging.getLogger("bot.notices")

POST_INTERVAL = 1.0  # seconds between Slack calls (posts or edits) in one channel
EDITS_PER_MINUTE = 50.0  # the workspace's edit budget
EDIT_BURST = 5.0
TALK_LINE_INTERVAL = 60.0  # at most one talking line per person per minute
REFRESH_INTERVAL = 60.0  # re-render a quiet status message so its running time stays true
BATCH_WINDOW = 0.3  # wait this long after the first change so a burst lands in one post


def participant_key(participant: Participant) -> str:
    return participant.call_id or f"#{participant.participant_id}"


@dataclass
class Feed:
    """What one channel is owed for one conference."""

    channel_id: str
    conference_id: str
    talking_lines: bool = False
    meeting_id: str | None = None
    ts: str | None = None
    # participant key -> name, for everyone whose join this channel was told about
    announced: dict[str, str] = field(default_factory=dict)
    needs_post: bool = False  # a new status message for a new meeting
    dirty: bool = False  # the status message should be re-rendered
    last_edit: float = 0.0
    joins: list[str] = field(default_factory=list)
    leaves: list[str] = field(default_factory=list)
    talkers: list[str] = field(default_factory=list)
    last_talk_line: dict[str, float] = field(default_factory=dict)
    # (ts, summary) of meetings that ended and whose message must turn into the summary.
    summaries: list[tuple[str, Message]] = field(default_factory=list)
    name: str = ""
    last_job: str = ""
    # When the oldest change not yet shown in Slack happened (for the lag metric).
    pending_since: float | None = None

    @property
    def lines_owed(self) -> bool:
        return bool(self.joins or self.leaves or self.talkers)


@dataclass
class _Bucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    at: float

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class Notices:
    def __init__(
        self,
        store: Store,
        poster: Poster,
        conference: Callable[[str], Conference | None],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        post_interval: float = POST_INTERVAL,
        edits_per_minute: float = EDITS_PER_MINUTE,
        batch_window: float = BATCH_WINDOW,
        command: str = "/conf",
        allowed: Callable[[], bool] = lambda: True,
        restore: Callable[[Conference], None] = lambda conference: None,
    ) -> None:
        self.store = store
        self.poster = poster
        self.conference = conference
        self.clock = clock
        self.monotonic = monotonic
        self.post_interval = post_interval
        self.batch_window = batch_window
        self.command = command
        # Checked before every post and edit: a replica that lost the lease must not speak.
        self.allowed = allowed
        # Hands a conference saved with an anchor back to the engine (see bot.domain.codec).
        self.restore = restore
        now = monotonic()
        self._edits = _Bucket(edits_per_minute / 60.0, EDIT_BURST, EDIT_BURST, now)
        self._feeds: dict[tuple[str, str], Feed] = {}
        self._by_conference: dict[str, list[Feed]] = {}
        self._next_call: dict[str, float] = {}
        self._paused_until: dict[str, float] = {"post": 0.0, "update": 0.0}
        self._wake = asyncio.Event()
        self._watch_lock = asyncio.Lock()
        self._first_owed: float | None = None
        self.posts = 0
        self.edits = 0
        self.rate_limited = 0

    # --- watches ---------------------------------------------------------------------------------

    async def set_watches(self, watches: Sequence[tuple[str, str, bool]]) -> None:
        """(channel, conference, talking) for every watch; feeds are added and dropped to match."""
        # Serialised: two overlapping calls would each create a feed for a new watch.
        async with self._watch_lock:
            await self._set_watches(watches)

    async def _set_watches(self, watches: Sequence[tuple[str, str, bool]]) -> None:
        wanted = {(c, conf): talking for c, conf, talking in watches}
        for key in list(self._feeds):
            if key not in wanted:
                self._drop(key)
        for key, talking in wanted.items():
            feed = self._feeds.get(key)
            if feed is None:
                feed = Feed(channel_id=key[0], conference_id=key[1], talking_lines=talking)
                await self._load(feed)
                self._feeds[key] = feed
                self._by_conference.setdefault(key[1], []).append(feed)
                conference = self.conference(key[1])
                if conference is not None and conference.meeting is not None:
                    self._start(feed, conference)
            feed.talking_lines = talking
        self._wake.set()

    def _drop(self, key: tuple[str, str]) -> None:
        feed = self._feeds.pop(key)
        feeds = self._by_conference.get(feed.conference_id, [])
        if feed in feeds:
            feeds.remove(feed)

    async def _load(self, feed: Feed) -> None:
        anchor = await self.store.anchor(feed.channel_id, feed.conference_id)
        if anchor is None or anchor.ended:
            return
        feed.meeting_id, feed.ts = anchor.meeting_id, anchor.ts
        try:
            state = json.loads(anchor.state or "{}")
            feed.announced = {str(k): str(v) for k, v in state.get("announced", {}).items()}
            saved = state.get("conference")
            if saved is not None:
                conference = conference_from_dict(saved)
                feed.name = conference.name
                self.restore(conference)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # A damaged anchor costs the dedupe of one meeting, never the notices themselves.
            log.warning(
                "ignoring the saved state of %s in %s: %s", feed.conference_id, feed.channel_id, exc
            )

    def note_post(self, channel_id: str) -> None:
        """Someone else (a user's command) posts in the channel now: notices wait their turn."""
        now = self.monotonic()
        self._next_call[channel_id] = max(
            self._next_call.get(channel_id, 0.0), now + self.post_interval
        )

    # --- changes in (called by the engine, synchronously) ----------------------------------------

    def on_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            for feed in self._by_conference.get(change.conference.conference_id, ()):
                self._note(feed, change)
        if self._first_owed is None:
            self._first_owed = self.monotonic()
        self._wake.set()

    def _note(self, feed: Feed, change: Change) -> None:
        if feed.pending_since is None:
            feed.pending_since = change.at
        conference = change.conference
        feed.name = conference.name
        if isinstance(change, MeetingStarted):
            self._start(feed, conference)
        elif isinstance(change, MeetingEnded):
            self._end(feed, change.meeting, change.at)
        elif isinstance(change, Joined):
            key = participant_key(change.participant)
            if key not in feed.announced:
                feed.announced[key] = _display(change.participant)
                # The roster found when a watch begins is shown, not announced.
                if not (change.resync and feed.needs_post):
                    feed.joins.append(_display(change.participant))
            feed.dirty = True
        elif isinstance(change, Left):
            key = participant_key(change.participant)
            if key in feed.announced:
                del feed.announced[key]
                feed.leaves.append(_display(change.participant))
            feed.dirty = True
        elif isinstance(change, FlagsChanged):
            feed.dirty = True
            if feed.talking_lines and change.after.talking and not change.before.talking:
                self._talker(feed, change.after, change.at)
        elif isinstance(change, LockedChanged):
            feed.dirty = True

    def _start(self, feed: Feed, conference: Conference) -> None:
        meeting = conference.meeting
        if meeting is None:
            return
        feed.name = conference.name
        if feed.meeting_id == meeting.meeting_id and feed.ts is not None:
            feed.dirty = True  # the same meeting (after a restart): keep editing its message
            return
        feed.meeting_id = meeting.meeting_id
        feed.ts = None
        feed.announced = {}
        feed.needs_post = True
        feed.dirty = False

    def _end(self, feed: Feed, meeting: Meeting, at: float) -> None:
        summary = render.summary(feed.name, meeting, at)
        if feed.ts is not None:
            feed.summaries.append((feed.ts, summary))
        elif feed.needs_post:
            # The meeting ended before its message could be posted: post the summary instead.
            feed.summaries.append(("", summary))
        feed.ts = None
        feed.needs_post = False
        feed.dirty = False
        feed.meeting_id = None
        feed.announced = {}

    def _talker(self, feed: Feed, participant: Participant, at: float) -> None:
        key = participant_key(participant)
        last = feed.last_talk_line.get(key)
        if last is not None and at - last < TALK_LINE_INTERVAL:
            return
        feed.last_talk_line[key] = at
        name = _display(participant)
        if name not in feed.talkers:
            feed.talkers.append(name)

    # --- flushing out ----------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            # Cleared before flushing: a change noted during the flush must wake the next wait.
            self._wake.clear()
            delay = await self.flush()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # lands as the event is set, and a stopping owner would then wait on us forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def flush(self) -> float:
        """Pay what can be paid now; return how long until the next thing falls due."""
        now = self.monotonic()
        if not self.allowed():
            return 1.0
        if self._first_owed is not None and now - self._first_owed < self.batch_window:
            return self.batch_window - (now - self._first_owed)
        self._first_owed = None
        waits = [REFRESH_INTERVAL]
        for feed in list(self._feeds.values()):
            waits.append(await self._flush_feed(feed, now))
        return max(0.05, min(waits))

    def _next_job(self, feed: Feed, now: float) -> str | None:
        """What this feed needs next, most urgent first; one Slack call per turn."""
        if any(ts == "" for ts, _ in feed.summaries):
            return "post-summary"
        if feed.summaries:
            return "edit-summary"
        if feed.needs_post:
            return "post-status"
        stale = feed.ts is not None and now - feed.last_edit >= REFRESH_INTERVAL
        edit = feed.ts is not None and (feed.dirty or stale)
        # Lines and edits take turns, so a stream of joins cannot starve the status message.
        if feed.lines_owed and not (edit and feed.last_job == "post-lines"):
            return "post-lines"
        return "edit-status" if edit else None

    async def _flush_feed(self, feed: Feed, now: float) -> float:
        job = self._next_job(feed, now)
        if job is None:
            if feed.ts is None:
                return REFRESH_INTERVAL
            return max(0.05, feed.last_edit + REFRESH_INTERVAL - now)
        kind = "post" if job.startswith("post") else "update"
        # One budget per channel for posts and edits together: at most one call a second.
        due = max(self._next_call.get(feed.channel_id, 0.0), self._paused_until[kind])
        if now < due:
            return due - now
        if kind == "update" and not self._edits.take(now):
            return self._edits.wait(now)
        try:
            await self._perform(feed, job)
        except RateLimited as exc:
            self.rate_limited += 1
            self._paused_until[kind] = self.monotonic() + exc.retry_after
            return exc.retry_after
        except Exception:
            log.exception("%s in channel %s failed", job, feed.channel_id)
            self._next_call[feed.channel_id] = self.monotonic() + 5.0
            return 5.0
        feed.last_job = job
        self._next_call[feed.channel_id] = self.monotonic() + self.post_interval
        return self.post_interval

    async def _perform(self, feed: Feed, job: str) -> None:
        if job == "post-summary":
            await self._post_summary(feed)
        elif job == "edit-summary":
            ts, final = next((ts, m) for ts, m in feed.summaries if ts)
            await self._edit(feed, ts, final)
            return
        elif job == "post-status":
            await self._post_status(feed)
        elif job == "post-lines":
            await self._post_lines(feed)
        else:
            assert feed.ts is not None
            await self._edit(feed, feed.ts, None)
            return
        self.posts += 1
        self._shown(feed)

    async def _post_lines(self, feed: Feed) -> None:
        owed = (feed.joins, feed.leaves, feed.talkers)
        lines = []
        if feed.joins:
            lines.append(render.joined_line(feed.joins, feed.name))
        if feed.leaves:
            lines.append(render.left_line(feed.leaves, feed.name))
        if feed.talkers:
            lines.append(render.talking_line(feed.talkers, feed.name))
        feed.joins, feed.leaves, feed.talkers = [], [], []
        # Who was announced is saved before the post: if this replica dies between the two, the
        # next owner skips this batch rather than repeating it (at most once, never twice).
        await self._save(feed)
        try:
            await self.poster.post(feed.channel_id, Message(text="\n".join(lines), blocks=[]))
        except BaseException:
            # Not posted (a 429, an error, shutdown): owed again, ahead of anything newer.
            feed.joins = owed[0] + feed.joins
            feed.leaves = owed[1] + feed.leaves
            feed.talkers = owed[2] + feed.talkers
            raise

    async def _post_status(self, feed: Feed) -> None:
        conference = self.conference(feed.conference_id)
        if conference is None or conference.meeting is None:
            feed.needs_post = False
            return
        ts = await self.poster.post(
            feed.channel_id, render.live(conference, self.clock(), command=self.command)
        )
        feed.ts = ts
        feed.needs_post = False
        feed.dirty = False
        feed.last_edit = self.monotonic()
        await self._save(feed)

    async def _post_summary(self, feed: Feed) -> None:
        index = next(i for i, (ts, _) in enumerate(feed.summaries) if ts == "")
        _, summary = feed.summaries.pop(index)
        await self.poster.post(feed.channel_id, summary)

    async def _edit(self, feed: Feed, ts: str, summary: Message | None) -> None:
        if summary is not None:
            try:
                await self.poster.update(feed.channel_id, ts, summary)
            except MessageGone:
                await self.poster.post(feed.channel_id, summary)
            feed.summaries.remove((ts, summary))
            self.edits += 1
            await self.store.set_anchor(
                AnchorRow(feed.channel_id, feed.conference_id, "ended", ts, True), at=self.clock()
            )
            return
        conference = self.conference(feed.conference_id)
        if conference is None or conference.meeting is None:
            feed.dirty = False
            return
        feed.dirty = False
        feed.last_edit = self.monotonic()
        message = render.live(conference, self.clock(), command=self.command)
        try:
            await self.poster.update(feed.channel_id, ts, message)
        except MessageGone:
            feed.ts = None
            feed.needs_post = True
            return
        self.edits += 1
        self._shown(feed)
        await self._save(feed)

    def _shown(self, feed: Feed) -> None:
        if feed.pending_since is not None:
            NOTICE_LAG.observe(max(0.0, self.clock() - feed.pending_since))
            feed.pending_since = None

    async def _save(self, feed: Feed) -> None:
        if feed.ts is None or feed.meeting_id is None:
            return
        state: dict[str, object] = {"announced": feed.announced}
        conference = self.conference(feed.conference_id)
        if conference is not None and conference.meeting is not None:
            state["conference"] = conference_to_dict(conference)
        anchor = AnchorRow(
            feed.channel_id,
            feed.conference_id,
            feed.meeting_id,
            feed.ts,
            False,
            json.dumps(state, separators=(",", ":")),
        )
        await self.store.set_anchor(anchor, at=self.clock())

    def idle(self) -> bool:
        """Nothing owed anywhere (tests and shutdown use this)."""
        return all(
            not (f.needs_post or f.lines_owed or f.summaries or f.dirty)
            for f in self._feeds.values()
        )


def _display(participant: Participant) -> str:
    return participant.name or participant.number or f"Caller {participant.participant_id}"
