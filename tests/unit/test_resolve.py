"""CONF and WHO resolution (SPEC section 3): exact matches, defaults, ambiguity, suggestions."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from bot.domain.model import Conference, Participant
from bot.domain.resolve import resolve_conference, resolve_participant
from bot.errors import CommandError

STANDUP = Conference("c-standup", "Standup", numbers=("1000",))
WEEKLY = Conference("c-weekly", "Weekly Sync", numbers=("2000", "2001"))
RETRO_A = Conference("c-retro-a", "Retro", numbers=("3000",))
RETRO_B = Conference("c-retro-b", "retro")
HOSTILE = Conference("c-hostile", "<!channel> *pwn*", numbers=("<http://x|y>",))
CONFERENCES = (STANDUP, WEEKLY, RETRO_A, RETRO_B, HOSTILE)


def bracket(text: str) -> str:
    """A stand-in escaper that makes it visible which text went through `show`."""
    return f"[{text}]"


def conference_error(ref: str | None, watched: tuple[str, ...] = (), **kw: object) -> str:
    with pytest.raises(CommandError) as caught:
        resolve_conference(ref, CONFERENCES, watched, **kw)  # type: ignore[arg-type]
    return str(caught.value)


# --- conferences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("Standup", STANDUP),
        ("standup", STANDUP),
        ("STANDUP", STANDUP),
        ("  Standup ", STANDUP),
        ("weekly sync", WEEKLY),
        ("c-weekly", WEEKLY),
        ("C-WEEKLY", WEEKLY),
        ("1000", STANDUP),
        ("2001", WEEKLY),
        ("3000", RETRO_A),
        ("c-retro-b", RETRO_B),
        ("<!channel> *pwn*", HOSTILE),
    ],
)
def test_conference_by_name_id_or_number(ref: str, expected: Conference) -> None:
    assert resolve_conference(ref, CONFERENCES) == expected


def test_id_wins_over_a_name() -> None:
    named_like_an_id = Conference("c-other", "c-standup")
    assert resolve_conference("c-standup", [named_like_an_id, STANDUP]) == STANDUP


def test_watched_conference_is_the_default() -> None:
    assert resolve_conference(None, CONFERENCES, ["c-weekly"]) == WEEKLY


def test_watched_ids_the_pbx_no_longer_has_are_ignored_when_one_remains() -> None:
    assert resolve_conference(None, CONFERENCES, ["gone", "c-standup"]) == STANDUP


def test_no_watched_conference_asks_for_a_name() -> None:
    message = conference_error(None)
    assert "Which conference?" in message
    assert "watches none" in message
    assert "`/conf list`" in message


def test_several_watched_conferences_are_listed() -> None:
    message = conference_error(None, ("c-standup", "c-weekly"))
    assert "watches several: *Standup*, *Weekly Sync*. Name one." in message


def test_watched_conference_gone_from_the_pbx() -> None:
    message = conference_error(None, ("gone",), command="/meet")
    assert "no longer on the PBX" in message
    assert "`/meet list`" in message


def test_shared_name_is_ambiguous_and_lists_numbers_and_ids() -> None:
    message = conference_error("RETRO")
    assert "*RETRO* matches 2 conferences" in message
    assert "*Retro* (3000; id c-retro-a)" in message
    assert "*retro* (id c-retro-b)" in message
    assert "Use a number or the id" in message


def test_name_of_one_and_number_of_another_is_ambiguous() -> None:
    numbered = Conference("c-x", "X", numbers=("Standup",))
    with pytest.raises(CommandError, match="matches 2 conferences"):
        resolve_conference("Standup", [STANDUP, numbered])


def test_unknown_conference_suggests_close_names() -> None:
    assert "No conference called *Standpu*. Did you mean *Standup*?" in conference_error("Standpu")


def test_suggestions_are_case_insensitive_and_shown_in_their_spelling() -> None:
    assert "Did you mean *Weekly Sync*?" in conference_error("WEEKLY SYNK")


def test_several_suggestions_read_as_a_list() -> None:
    names = [Conference(f"c{i}", name) for i, name in enumerate(["Sales", "Scales", "Sails"])]
    with pytest.raises(CommandError) as caught:
        resolve_conference("Sals", names)
    assert "Did you mean *Sales*, *Sails* or *Scales*?" in str(caught.value)


def test_unknown_conference_without_close_names_points_to_list() -> None:
    message = conference_error("Zebra", command="/meet")
    assert message == "No conference called *Zebra*. Try `/meet list`."


def test_no_conferences_at_all() -> None:
    with pytest.raises(CommandError, match=r"Try `/conf list`"):
        resolve_conference("Standup", [])


def test_empty_conference_reference_is_refused() -> None:
    assert "cannot be empty" in conference_error("   ")


def test_conference_names_and_the_reference_go_through_show() -> None:
    assert "No conference called *[<!here>]*." in conference_error("<!here>", show=bracket)
    message = conference_error(None, ("c-standup", "c-hostile"), show=bracket)
    assert "*[<!channel> *pwn*]*" in message
    message = conference_error("<!channel> *pwm*", show=bracket)
    assert "Did you mean *[<!channel> *pwn*]*?" in message


def test_ambiguity_shows_numbers_and_ids_through_show() -> None:
    twin = Conference("c-twin", "<!channel> *pwn*")
    with pytest.raises(CommandError) as caught:
        resolve_conference("<!channel> *pwn*", [HOSTILE, twin], show=bracket)
    message = str(caught.value)
    assert "([<http://x|y>]; id [c-hostile])" in message
    assert "<http" not in message.replace("[<http://x|y>]", "")


# --- participants --------------------------------------------------------------------------------


def person(pid: int, name: str, number: str, joined: float | None = None) -> Participant:
    return Participant(pid, name, number, joined_at=float(pid) if joined is None else joined)


def call(*people: Participant) -> Conference:
    return Conference(
        "c-standup",
        "Standup",
        participants=MappingProxyType({p.participant_id: p for p in people}),
    )


ADA = person(3, "Ada Lovelace", "+442071234567")
ADAM = person(5, "Adam Smith", "+15551234")
GRACE = person(7, "Grace Hopper", "15559876")
NUMBER_12 = person(8, "Caller", "12345")
ID_12 = person(12, "Twelve", "+99")
ROOM = call(ADA, ADAM, GRACE, NUMBER_12, ID_12)


def participant_error(ref: str, conference: Conference = ROOM, **kw: object) -> str:
    with pytest.raises(CommandError) as caught:
        resolve_participant(ref, conference, **kw)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("3", ADA),
        ("12", ID_12),  # an id wins over the number 12345 it is also a prefix of
        ("grace", GRACE),
        ("GRACE HOPPER", GRACE),
        ("g", GRACE),
        ("ada l", ADA),
        ("adam", ADAM),
        ("+4420", ADA),
        ("4420", ADA),  # a leading + is not needed
        ("+1555123", ADAM),  # or is ignored where the number has none
        ("1555987", GRACE),
        ("123", NUMBER_12),
        ("  grace ", GRACE),
    ],
)
def test_participant_by_id_or_prefix(ref: str, expected: Participant) -> None:
    assert resolve_participant(ref, ROOM) == expected


def test_id_must_match_exactly() -> None:
    # "007" is not participant 7, it is a prefix of nothing: refused, not guessed.
    assert "Nobody in *Standup* matches *007*" in participant_error("007")


def test_ambiguous_prefix_lists_candidates_with_numbers() -> None:
    message = participant_error("ad")
    assert "*ad* matches 2 people in *Standup*:" in message
    assert "*Ada Lovelace* (+442071234567, id 3)" in message
    assert "*Adam Smith* (+15551234, id 5)" in message
    assert "Use more of the name, the number, or the id." in message


def test_ambiguous_across_name_and_number() -> None:
    one = person(1, "1555 Desk", "200")
    message = participant_error("1555", call(one, ADAM, GRACE))
    assert "matches 3 people" in message


def test_whole_name_beats_longer_names_it_prefixes() -> None:
    ada = person(1, "Ada", "100")
    adam = person(2, "Adam", "200")
    assert resolve_participant("ada", call(ada, adam)) == ada


def test_whole_number_beats_longer_numbers_it_prefixes() -> None:
    short = person(1, "Desk", "+4420")
    long = person(2, "Phone", "+44201")
    assert resolve_participant("4420", call(short, long)) == short


def test_same_name_twice_is_ambiguous() -> None:
    first = person(1, "Ada", "100")
    second = person(2, "ada", "200")
    message = participant_error("Ada", call(first, second))
    assert "*Ada* (100, id 1)" in message
    assert "*ada* (200, id 2)" in message


def test_nobody_matches_lists_who_is_in_the_call() -> None:
    message = participant_error("zed")
    assert message.startswith("Nobody in *Standup* matches *zed*. In the call: *Ada Lovelace*")
    assert "*Twelve* (+99, id 12)" in message


def test_long_rosters_are_cut_short() -> None:
    crowd = call(*(person(i, f"Caller {i:02d}", f"55{i:02d}") for i in range(1, 16)))
    message = participant_error("zed", crowd)
    assert "*Caller 10*" in message
    assert "*Caller 11*" not in message
    assert message.endswith("and 5 more.")


def test_roster_is_listed_in_join_order() -> None:
    late = person(1, "Late", "1", joined=100.0)
    early = person(2, "Early", "2", joined=1.0)
    message = participant_error("zed", call(late, early))
    assert message.index("Early") < message.index("Late")


def test_empty_call() -> None:
    assert participant_error("ada", call()) == "Nobody is in *Standup* right now."


def test_empty_participant_reference_is_refused() -> None:
    assert "Who?" in participant_error("  ")


def test_a_lone_plus_matches_no_number() -> None:
    assert "Nobody in *Standup* matches *+*" in participant_error("+")


def test_nameless_and_numberless_callers_are_still_listed() -> None:
    anonymous = person(4, "", "")
    assert "*(no name)* (id 4)" in participant_error("zed", call(anonymous))


def test_hostile_names_and_numbers_go_through_show() -> None:
    evil = person(1, "<!channel> hi", "<@U123>")
    evil_too = person(2, "<!channel> ho", "*bold*")
    room = Conference("c", "<!here>", participants=MappingProxyType({1: evil, 2: evil_too}))
    message = participant_error("<!channel>", room, show=bracket)
    assert "*[<!channel>]* matches 2 people in *[<!here>]*" in message
    assert "*[<!channel> hi]* ([<@U123>], id 1)" in message
    assert "*[<!channel> ho]* ([*bold*], id 2)" in message
    message = participant_error("zed", room, show=bracket)
    assert "matches *[zed]*" in message
    assert "*[<!channel> hi]*" in message


def test_long_reference_is_trimmed_in_messages() -> None:
    message = participant_error("z" * 500)
    assert "z" * 59 + "…" in message
    assert "z" * 61 not in message
