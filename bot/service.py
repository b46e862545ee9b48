"""Use cases: a checked command (or button click) from an actor becomes Kazoo calls and a result.

Kazoo is the source of truth: actions are REST calls, and what a user sees of a conference is read
fresh from Kazoo (or from the engine for conferences it tracks through the event stream). Results
are plain values; the Slack layer (or the console) turns them into words.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import commands as cmd
from bot.domain.commands import ConferenceAction, ParticipantAction, Right
from bot.domain.events import DirectoryListed
from bot.domain.model import Conference, Participant
from bot.domain.permissions import Actor, RightsPolicy, allows, check
from bot.domain.resolve import resolve_conference, resolve_participant
from bot.engine import Engine
from bot.errors import CommandError
from bot.kazoo.models import ConferenceDoc
from bot.kazoo.rest import KazooClient
from bot.kazoo.translate import conference_from_rest, directory_from_rest
from bot.scheduling import ScheduleInfo, Scheduler
from bot.slack.escape import untrusted
from bot.storage.store import AuditRow, Store

UTC = ZoneInfo("UTC")

# How long a conference listing may be reused to resolve names before asking Kazoo again.
DIRECTORY_TTL = 30.0


@dataclass(frozen=True, slots=True)
class Shown:
    """`status`: the roster of one conference (page for large rosters)."""

    conference: Conference
    page: int = 0


@dataclass(frozen=True, slots=True)
class Listed:
    conferences: tuple[Conference, ...]


@dataclass(frozen=True, slots=True)
class HelpShown:
    rights: frozenset[Right]


@dataclass(frozen=True, slots=True)
class Acted:
    """An action Kazoo accepted. `target` is None for a whole-conference action."""

    action: str  # lock, unlock, mute, unmute, deaf, undeaf, kick
    conference: Conference
    target: Participant | None = None
    everyone: bool = False


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Nothing to do: the state already is what was asked (no Kazoo call made)."""

    message: str


@dataclass(frozen=True, slots=True)
class Watching:
    conference: Conference
    talking: bool
    new: bool


@dataclass(frozen=True, slots=True)
class Unwatched:
    conferences: tuple[Conference, ...]


@dataclass(frozen=True, slots=True)
class Scheduled:
    schedule: ScheduleInfo
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class SchedulesListed:
    schedules: tuple[ScheduleInfo, ...]
    tz: ZoneInfo


@dataclass(frozen=True, slots=True)
class Unscheduled:
    schedule: ScheduleInfo


Result = (
    Shown
    | Listed
    | HelpShown
    | Acted
    | Unchanged
    | Watching
    | Unwatched
    | Scheduled
    | SchedulesListed
    | Unscheduled
)

WatchesChanged = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


class Service:
    def __init__(
        self,
        kazoo: KazooClient,
        engine: Engine,
        store: Store,
        policy: RightsPolicy,
        *,
        clock: Callable[[], float] = time.time,
        on_watches_changed: WatchesChanged = _nothing,
        scheduler: Scheduler | None = None,
        default_tz: ZoneInfo = UTC,
    ) -> None:
        self.kazoo = kazoo
        self.engine = engine
        self.store = store
        self.policy = policy
        self.clock = clock
        self.on_watches_changed = on_watches_changed
        self.scheduler = scheduler
        self.default_tz = default_tz
        self._directory_at: float | None = None

    # --- entry points ---------------------------------------------------------------------------

    async def execute(self, actor: Actor, command: cmd.Command, channel_id: str) -> Result:
        """Check the actor's right, then carry the command out. Raises `BotError` for users."""
        check(actor, command.right, self.policy, command_word(command))
        result = await self._dispatch(actor, command, channel_id)
        if isinstance(result, Acted | Watching | Unwatched | Scheduled | Unscheduled):
            await self._audit(actor, channel_id, result)
        return result

    def rights(self, actor: Actor) -> frozenset[Right]:
        return frozenset(r for r in Right if allows(actor, r, self.policy))

    async def _dispatch(self, actor: Actor, command: cmd.Command, channel_id: str) -> Result:
        if isinstance(command, cmd.Help):
            return HelpShown(self.rights(actor))
        if isinstance(command, cmd.ListConferences):
            return Listed(tuple(await self.list_conferences()))
        if isinstance(command, cmd.Status):
            return Shown(await self.live(command.conference, channel_id))
        if isinstance(command, cmd.Lock):
            return await self.lock(command.action, await self.live(command.conference, channel_id))
        if isinstance(command, cmd.Everyone):
            conference = await self.live(command.conference, channel_id)
            return await self.everyone(command.action, conference)
        if isinstance(command, cmd.One):
            conference = await self.live(command.conference, channel_id)
            target = resolve_participant(command.who, conference, show=untrusted)
            return await self.one(command.action, conference, target)
        if isinstance(command, cmd.Watch):
            return await self.watch(actor, command, channel_id)
        if isinstance(command, cmd.Unwatch):
            return await self.unwatch(command, channel_id)
        return await self._schedules(actor, command, channel_id)

    # --- schedules ------------------------------------------------------------------------------

    def timezone(self, actor: Actor) -> ZoneInfo:
        """The actor's Slack time zone, else CONFBOT_TIMEZONE."""
        if actor.tz:
            try:
                return ZoneInfo(actor.tz)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.default_tz

    async def _schedules(self, actor: Actor, command: cmd.Command, channel_id: str) -> Result:
        if self.scheduler is None:
            raise CommandError("Schedules are not available here.")
        tz = self.timezone(actor)
        if isinstance(command, cmd.Schedule):
            conference = await self.find(command.conference, channel_id)
            info = await self.scheduler.add(
                action=command.action.value,
                conference_id=conference.conference_id,
                conference_name=conference.name,
                when=command.when,
                tz=tz,
                created_by=actor.user_id,
                channel_id=channel_id,
            )
            # A meeting-relative rule needs that conference's events.
            await self.on_watches_changed()
            return Scheduled(info, tz)
        if isinstance(command, cmd.Schedules):
            return SchedulesListed(tuple(await self.scheduler.list()), tz)
        if isinstance(command, cmd.Unschedule):
            info = await self.scheduler.remove(command.schedule_id)
            await self.on_watches_changed()
            return Unscheduled(info)
        raise CommandError(f"`{command_word(command)}` is not available.")

    # --- reads -----------------------------------------------------------------------------------

    async def directory(self, *, fresh: bool = False) -> list[Conference]:
        """Known conferences (names, ids, numbers), from a listing at most DIRECTORY_TTL old."""
        now = self.clock()
        if fresh or self._directory_at is None or now - self._directory_at > DIRECTORY_TTL:
            await self._listing(now)
            await self.engine.settle()
        return self.engine.conferences()

    async def _listing(self, now: float) -> list[ConferenceDoc]:
        """Kazoo's conference listing, also handed to the engine as the name directory."""
        docs = await self.kazoo.list_conferences()
        self.engine.submit(DirectoryListed(directory_from_rest(docs), at=now))
        self._directory_at = now
        return docs

    async def list_conferences(self) -> list[Conference]:
        now = self.clock()
        docs = await self._listing(now)
        # Rosters only for running conferences: idle ones have no participants to fetch.
        running = [doc for doc in docs if doc.running and doc.id]
        rosters = await asyncio.gather(*(self.kazoo.participants(doc.id or "") for doc in running))
        by_id = {doc.id: roster for doc, roster in zip(running, rosters, strict=True)}
        return [conference_from_rest(doc, by_id.get(doc.id, []), now) for doc in docs]

    async def find(self, ref: str | None, channel_id: str) -> Conference:
        """Resolve a CONF reference (name, id, number, or the channel's only watched one)."""
        watched = [w.conference_id for w in await self.store.watches(channel_id)]
        try:
            return resolve_conference(ref, await self.directory(), watched, show=untrusted)
        except CommandError:
            # A conference created a moment ago is not in a cached listing: ask Kazoo once more.
            if self._directory_at is not None and self.clock() - self._directory_at < 1.0:
                raise
            return resolve_conference(
                ref, await self.directory(fresh=True), watched, show=untrusted
            )

    async def live(self, ref: str | None, channel_id: str) -> Conference:
        """The conference with its participants as Kazoo reports them right now."""
        return await self.refresh(await self.find(ref, channel_id))

    async def refresh(self, conference: Conference) -> Conference:
        # Two independent reads: side by side, so a slow Kazoo costs one round trip, not two.
        doc, participants = await asyncio.gather(
            self.kazoo.get_conference(conference.conference_id),
            self.kazoo.participants(conference.conference_id),
        )
        return conference_from_rest(doc, participants, self.clock(), fallback=conference)

    # --- actions ---------------------------------------------------------------------------------

    async def lock(self, action: ConferenceAction, conference: Conference) -> Result:
        wanted = action is ConferenceAction.LOCK
        if conference.running and conference.locked == wanted:
            state = "locked" if wanted else "unlocked"
            return Unchanged(f"*{untrusted(conference.name)}* is already {state}.")
        await self.kazoo.conference_action(conference.conference_id, action.value)
        return Acted(action.value, conference)

    async def everyone(self, action: ParticipantAction, conference: Conference) -> Result:
        if not conference.running:
            return Unchanged(f"No one is in *{untrusted(conference.name)}* right now.")
        await self.kazoo.participants_action(conference.conference_id, action.value)
        return Acted(action.value, conference, everyone=True)

    async def one(
        self, action: ParticipantAction, conference: Conference, target: Participant
    ) -> Result:
        already = _already(action, target)
        if already:
            return Unchanged(f"{untrusted(target.name)} is already {already}.")
        await self.kazoo.participant_action(
            conference.conference_id, target.participant_id, action.value
        )
        return Acted(action.value, conference, target)

    async def press_participant(
        self,
        actor: Actor,
        action: ParticipantAction,
        conference_id: str,
        participant_id: int,
        call_id: str,
        channel_id: str,
    ) -> Result:
        """A roster button: re-authorised and re-validated against Kazoo's current state."""
        command = cmd.One(action, str(participant_id), conference_id)
        check(actor, command.right, self.policy, command_word(command))
        conference = await self.refresh(await self._known(conference_id))
        target = conference.participants.get(participant_id)
        if target is None or (call_id and target.call_id and target.call_id != call_id):
            raise CommandError(
                f"That caller is no longer in *{untrusted(conference.name)}*. "
                "Run `/conf status` again."
            )
        result = await self.one(action, conference, target)
        if isinstance(result, Acted):
            await self._audit(actor, channel_id, result)
        return result

    async def press_conference(
        self, actor: Actor, action: str, conference_id: str, channel_id: str
    ) -> Result:
        command: cmd.Command
        if action in ("lock", "unlock"):
            command = cmd.Lock(ConferenceAction(action), conference_id)
        elif action == "mute-all":
            command = cmd.Everyone(ParticipantAction.MUTE, conference_id)
        elif action == "kick-all":
            command = cmd.Everyone(ParticipantAction.KICK, conference_id)
        else:
            raise CommandError("This button is out of date; run `/conf status` again.")
        check(actor, command.right, self.policy, command_word(command))
        conference = await self.refresh(await self._known(conference_id))
        if isinstance(command, cmd.Lock):
            result = await self.lock(command.action, conference)
        else:
            result = await self.everyone(command.action, conference)
        if isinstance(result, Acted):
            await self._audit(actor, channel_id, result)
        return result

    async def show(self, actor: Actor, conference_id: str, page: int) -> Result:
        check(actor, Right.MEMBER, self.policy, "status")
        conference = await self.refresh(await self._known(conference_id))
        return Shown(conference, page)

    async def _known(self, conference_id: str) -> Conference:
        for conference in await self.directory():
            if conference.conference_id == conference_id:
                return conference
        for conference in await self.directory(fresh=True):
            if conference.conference_id == conference_id:
                return conference
        raise CommandError("That conference no longer exists. Run `/conf list`.")

    # --- watches ---------------------------------------------------------------------------------

    async def watch(self, actor: Actor, command: cmd.Watch, channel_id: str) -> Result:
        conference = await self.find(command.conference, channel_id)
        new = await self.store.add_watch(
            channel_id,
            conference.conference_id,
            talking=command.talking,
            by=actor.user_id,
            at=self.clock(),
        )
        await self.on_watches_changed()
        return Watching(conference, command.talking, new)

    async def unwatch(self, command: cmd.Unwatch, channel_id: str) -> Result:
        watched = await self.store.watches(channel_id)
        if not watched:
            raise CommandError("This channel does not watch any conference.")
        directory = {c.conference_id: c for c in await self.directory()}
        if command.conference is None:
            targets = [
                directory.get(w.conference_id) or Conference(w.conference_id, w.conference_id)
                for w in watched
            ]
        else:
            conference = await self.find(command.conference, channel_id)
            if conference.conference_id not in {w.conference_id for w in watched}:
                raise CommandError(f"This channel does not watch *{untrusted(conference.name)}*.")
            targets = [conference]
        for conference in targets:
            await self.store.remove_watch(channel_id, conference.conference_id)
        await self.on_watches_changed()
        return Unwatched(tuple(targets))

    # --- audit -----------------------------------------------------------------------------------

    async def _audit(self, actor: Actor, channel_id: str, result: Result) -> None:
        if isinstance(result, Acted):
            action = f"{result.action}-all" if result.everyone else result.action
            conference = result.conference
            target = result.target.name if result.target else None
        elif isinstance(result, Watching):
            action, conference, target = "watch", result.conference, None
        elif isinstance(result, Scheduled | Unscheduled):
            info = result.schedule
            word = "schedule" if isinstance(result, Scheduled) else "unschedule"
            conference = Conference(info.conference_id, info.conference_name)
            action, target = word, f"{info.id}: {info.action} {info.rule}"
        elif isinstance(result, Unwatched):
            for conference in result.conferences:
                await self._audit_row(actor, channel_id, "unwatch", conference, None)
            return
        else:
            return
        await self._audit_row(actor, channel_id, action, conference, target)

    async def _audit_row(
        self,
        actor: Actor,
        channel_id: str,
        action: str,
        conference: Conference,
        target: str | None,
    ) -> None:
        await self.store.record(
            AuditRow(
                at=self.clock(),
                actor=actor.user_id,
                channel_id=channel_id,
                action=action,
                conference_id=conference.conference_id,
                target=target,
                outcome="ok",
                detail=None,
            )
        )


def _already(action: ParticipantAction, target: Participant) -> str | None:
    if action is ParticipantAction.MUTE and target.muted:
        return "muted"
    if action is ParticipantAction.UNMUTE and not target.muted:
        return "unmuted"
    if action is ParticipantAction.DEAF and target.deaf:
        return "deafened"
    if action is ParticipantAction.UNDEAF and not target.deaf:
        return "able to hear"
    return None


def command_word(command: cmd.Command) -> str:
    """The command word a user typed, for messages and the audit log."""
    if isinstance(command, cmd.Lock):
        return command.action.value
    if isinstance(command, cmd.Everyone):
        return f"{command.action.value}-all"
    if isinstance(command, cmd.One):
        return command.action.value
    names: dict[type, str] = {
        cmd.Help: "help",
        cmd.ListConferences: "list",
        cmd.Status: "status",
        cmd.Watch: "watch",
        cmd.Unwatch: "unwatch",
        cmd.Schedule: "schedule",
        cmd.Schedules: "schedules",
        cmd.Unschedule: "unschedule",
    }
    return names[type(command)]
