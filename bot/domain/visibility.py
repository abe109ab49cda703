"""Who may see an incident (SPEC § Incident types, private incidents and roles), decided here once for every door —
commands, buttons, the App Home, the board, the feeds, the charts, the tracker, the API, the status page.

A public incident is everyone's. A private one is shown — title, description, timeline, postmortem, follow-ups —
only to the members of its channel as last read (those the bot invited, then Slack's join and leave events) and to
ADMINS. Anyone else learns at most that a private incident exists (its number and priority), never what it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

PRIVATE_TITLE = "a private incident"


def may_see(*, private: bool, viewer: str | None, members: Callable[[], Collection[str]],
            admins: Collection[str]) -> bool:
    """`members` is asked only when it matters (a private incident, a viewer who is not an admin)."""
    if not private:
        return True
    if not viewer:
        return False
    return viewer in admins or viewer in members()


def title_for_anyone(incident) -> str:
    """An incident's title where anyone may read it (a rotation's channel, a DM to someone not in its channel, an
    issue tracker): a private incident's stays inside its channel."""
    return PRIVATE_TITLE if incident.private else incident.title
