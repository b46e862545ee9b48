"""Who may do what (SPEC section 3, "Rights"). Pure: the actor's facts come from Slack itself.

A button's value is never consulted here: a click is decided like a typed command, from the clicking
user's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.commands import Right
from bot.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Actor:
    """A Slack user as Slack reports them (users.info), plus the user groups they belong to."""

    user_id: str
    is_admin: bool = False
    is_owner: bool = False
    is_guest: bool = False
    is_bot: bool = False
    groups: frozenset[str] = field(default_factory=frozenset)
    tz: str | None = None


@dataclass(frozen=True, slots=True)
class RightsPolicy:
    """CONFBOT_ADMINS and CONFBOT_MODERATORS: user ids or user-group ids (S...)."""

    admins: frozenset[str] = field(default_factory=frozenset)
    moderators: frozenset[str] = field(default_factory=frozenset)

    @property
    def groups(self) -> frozenset[str]:
        """The user-group ids the policy names: their members must be looked up."""
        return frozenset(i for i in self.admins | self.moderators if i.startswith("S"))


def _listed(actor: Actor, ids: frozenset[str]) -> bool:
    return actor.user_id in ids or bool(actor.groups & ids)


def is_member(actor: Actor) -> bool:
    return not actor.is_guest and not actor.is_bot


def is_admin(actor: Actor, policy: RightsPolicy) -> bool:
    if not is_member(actor):
        return False
    if policy.admins:
        return _listed(actor, policy.admins)
    return actor.is_admin or actor.is_owner


def is_moderator(actor: Actor, policy: RightsPolicy) -> bool:
    if not is_member(actor):
        return False
    if is_admin(actor, policy):
        return True
    if policy.moderators:
        return _listed(actor, policy.moderators)
    return True


def allows(actor: Actor, right: Right, policy: RightsPolicy) -> bool:
    if right is Right.ANYONE:
        return True
    if right is Right.MEMBER:
        return is_member(actor)
    if right is Right.MODERATOR:
        return is_moderator(actor, policy)
    return is_admin(actor, policy)


_WHY = {
    Right.MEMBER: "only full members of this workspace may do that (not guests or bots)",
    Right.MODERATOR: "only conference moderators may do that; ask an admin to add you to "
    "CONFBOT_MODERATORS",
    Right.ADMIN: "only confbot admins may do that; ask a workspace admin (or someone in "
    "CONFBOT_ADMINS)",
}


def check(actor: Actor, right: Right, policy: RightsPolicy, action: str) -> None:
    """Raise `PermissionDenied` saying which right `action` needs, unless the actor has it."""
    if not allows(actor, right, policy):
        raise PermissionDenied(action, _WHY.get(right, "not allowed"))
