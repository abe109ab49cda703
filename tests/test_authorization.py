"""Who may do what (SPEC §2), as one table: every mutating command, button and form against every kind of person
(and, for a private incident, the column it adds: only its channel's members and ADMINS).

An incident may be changed by its commander, its responders, its rotation's firefighters, the people paged for it
and ADMINS. Only the person paged (or the commander, or ADMINS) may escalate a page; the `@here` page may be
acknowledged by anyone. A roster may be changed by ADMINS, its creator and its members. "Hand over my incidents"
is the outgoing primary's button (the incoming primary and ADMINS may press it too).

Each cell asserts both directions: allowed → the change is stored (timeline event, state); refused → a clear
ephemeral answer and not one stored row changes. A test walks its whole table and reports every failing cell at
once. One bot per test; the people take turns on it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import SQLModel, delete, select

from bot.db import repo
from bot.db.models import (
    Incident,
    IncidentResponder,
    Page,
    Rotation,
    RotationMember,
    RotationOverride,
    RotationSwap,
    TimelineEvent,
)
from bot.delivery.kinds import Kind
from bot.domain.errors import UserError
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.views import handoff as handoff_views
from bot.views import incident as incident_views
from tests.conftest import Bot
from tests.test_commands import reply_of

PEOPLE = {"commander": "U0CMD", "responder": "U0RESP", "paged": "U0PAGED", "firefighter": "U0FF",
          "admin": "U0ADMIN", "stranger": "U0STRANGER"}
MAY_CHANGE_INCIDENT = {"commander", "responder", "paged", "firefighter", "admin"}
MAY_ESCALATE = {"paged", "commander", "admin"}
MAY_HAND_OVER = {"commander", "firefighter", "admin"}  # last shift's primary (U0CMD), this shift's (U0FF), ADMINS
ROSTER_PEOPLE = {**PEOPLE, "creator": "U0CREATOR"}
MAY_CHANGE_ROSTER = {"firefighter", "creator", "admin"}
ROSTER_REFUSAL = "Only the members of `payments`, its creator <@U0CREATOR> or an admin can change its roster."
FOREIGN_COMMANDER = "U0SEARCHCMD"


# -- the world: two rotations, and incidents everyone holds a part in ------------------------------------------

async def world(make_bot, roster: tuple[str, ...] = ("U0FF",)):
    """`payments` (C0PAY), created by U0CREATOR, who is not on it; `search` (C0SEARCH) belongs to other people."""
    bot = await make_bot(admins="U0ADMIN")
    bot.fake.add_channel("C0PAY", "payments-oncall", members=("U0CREATOR",))
    bot.fake.add_channel("C0SEARCH", "search-oncall", members=("U0CREATOR",))
    for user in (*ROSTER_PEOPLE.values(), "U0NEW", "U0FF2", "U0COVER", "U0SEARCHFF", FOREIGN_COMMANDER):
        bot.fake.add_user(user)
    mentions = " ".join(f"<@{u}>" for u in roster)
    for text, channel in (("rotation create payments <#C0PAY|payments-oncall>", "C0GENERAL"),
                          (f"rotation add {mentions}", "C0PAY"),
                          ("rotation create search <#C0SEARCH|search-oncall>", "C0GENERAL"),
                          ("rotation add <@U0SEARCHFF>", "C0SEARCH")):
        _, body, _ = await bot.slack.command(text, user="U0CREATOR", channel=channel)
        assert body.startswith(("Created", "Added")), (text, body)
    await bot.settle()
    return bot


async def involve(bot, title: str) -> Incident:
    """A P2 on `payments` (its firefighter: U0FF) commanded by U0CMD, with U0RESP responding and U0PAGED paged."""
    incident = await bot.declare(title, priority="P2", commander="U0CMD")
    n = incident.number
    for text in (f"responders INC-{n} add <@U0RESP>", f"page INC-{n} <@U0PAGED>"):
        _, body, _ = await bot.slack.command(text, user="U0CMD")
        assert reply_of(body)["text"].startswith(("Added", "Paging")), (text, body)
    await bot.settle()
    incident = current(bot, n)
    assert incident.commander_id == "U0CMD" and incident.rotation_id == rotation(bot, "payments").id
    assert incident.acknowledged_at is None and [p.state for p in pages(bot, n, "U0PAGED")] == ["waiting"]
    return incident


async def foreign_incident(bot) -> Incident:
    """An incident of the `search` rotation: none of PEOPLE but the admin has any say over it."""
    incident = await bot.declare("Someone else's incident", priority="P2", commander=FOREIGN_COMMANDER,
                                 channel="C0SEARCH")
    assert incident.rotation_id == rotation(bot, "search").id and incident.commander_id == FOREIGN_COMMANDER
    return incident


# -- reading the stored state ---------------------------------------------------------------------------------

def snapshot(bot) -> dict[str, list[str]]:
    """Every stored row of every table, but the stored clicks: a click is kept (as a delivered outbox row) whether
    or not it was allowed to change anything."""
    with bot.runtime.engine.connect() as connection:
        return {table.name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table))
                                   if table.name != "outbox" or row.kind != Kind.CLICK)
                for table in SQLModel.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in after if before.get(name) != after[name]]


def current(bot, number: int) -> Incident:
    with bot.session() as s:
        return s.exec(select(Incident).where(Incident.number == number)).one()


def rotation(bot, name: str) -> Rotation:
    with bot.session() as s:
        return s.exec(select(Rotation).where(Rotation.name == name)).one()


def last_event_id(bot) -> int:
    with bot.session() as s:
        return s.exec(select(sa.func.max(TimelineEvent.id))).one() or 0


def events_since(bot, mark: int) -> list[tuple[int, str, str | None]]:
    with bot.session() as s:
        rows = s.exec(select(Incident.number, TimelineEvent.kind, TimelineEvent.actor_id)
                      .join(Incident, Incident.id == TimelineEvent.incident_id).where(TimelineEvent.id > mark))
        return [tuple(r) for r in rows]


def responders(bot, number: int) -> set[str]:
    with bot.session() as s:
        return set(s.exec(select(IncidentResponder.user_id).join(Incident, Incident.id == IncidentResponder.incident_id)
                          .where(Incident.number == number)))


def pages(bot, number: int, target: str | None = None) -> list[Page]:
    with bot.session() as s:
        query = select(Page).join(Incident, Incident.id == Page.incident_id).where(Incident.number == number)
        if target:
            query = query.where(Page.target_user_id == target)
        return list(s.exec(query.order_by(Page.id)))


def page(bot, page_id: int) -> Page:
    with bot.session() as s:
        return s.exec(select(Page).where(Page.id == page_id)).one()


def roster(bot) -> list[str]:
    with bot.session() as s:
        payments = rotation(bot, "payments").id
        return list(s.exec(select(RotationMember.user_id).where(RotationMember.rotation_id == payments)
                           .order_by(RotationMember.position)))


# -- the table ------------------------------------------------------------------------------------------------

@dataclass
class Before:
    """What a cell saw before acting, and what its action answered."""

    mark: int
    rows: dict
    opened: int
    answer: str = ""


Check = Callable[..., str | None]  # (bot, before) → what is wrong, or None
Refusal = Callable[[str], bool]


def needs_rows(check: Check) -> Check:
    """Marks a check that compares the stored rows with those before the action (taking them costs time)."""
    check.needs_rows = True  # type: ignore[attr-defined]
    return check


@dataclass
class Table:
    bot: Bot
    problems: list[str] = field(default_factory=list)
    cells: int = 0

    async def cell(self, row: str, role: str, allowed: bool, act: Callable[[], Awaitable[str]], *,
                   stored: list[Check], refused: Refusal) -> bool:
        bot = self.bot
        rows = snapshot(bot) if not allowed or any(getattr(c, "needs_rows", False) for c in stored) else {}
        before = Before(last_event_id(bot), rows, len(bot.fake.calls_to("views.open")))
        before.answer = await act()
        await bot.settle()
        self.cells += 1
        wrong: list[str] = []
        if allowed:
            if refused(before.answer):
                wrong.append(f"refused: {before.answer!r}")
            wrong += [w for check in stored if (w := check(bot, before))]
            if wrong and before.answer and not refused(before.answer):
                wrong.append(f"answered {before.answer!r}")
        else:
            if not refused(before.answer):
                wrong.append(f"no clear refusal, answered {before.answer!r}")
            if (tables := changed_tables(before.rows, snapshot(bot))):
                wrong.append(f"stored rows changed in {tables}")
            if len(bot.fake.calls_to("views.open")) != before.opened:
                wrong.append("a form was opened")
        if wrong:
            self.problems.append(f"{row} × {role} ({'allowed' if allowed else 'refused'}): {'; '.join(wrong)}")
        return not wrong

    def verdict(self, expected_cells: int) -> None:
        assert not self.problems, f"{len(self.problems)} of {self.cells} cells wrong:\n" + "\n".join(self.problems)
        assert self.cells == expected_cells, (self.cells, expected_cells)


def incident_refusal(number: int) -> Refusal:
    pattern = re.compile(rf"^Only its commander\b.*\bchange INC-{number}\b")
    return lambda answer: bool(pattern.search(answer))


def event(number: int, kind: str, actor: str) -> Check:
    def check(bot, before: Before) -> str | None:
        found = events_since(bot, before.mark)
        return None if (number, kind, actor) in found else f"no `{kind}` event by {actor} on INC-{number}: {found}"
    return check


def holds(number: int, what: str, predicate: Callable[[Incident], bool]) -> Check:
    def check(bot, before: Before) -> str | None:
        return None if predicate(current(bot, number)) else f"INC-{number}: not {what}"
    return check


def that(what: str, predicate: Callable[..., bool]) -> Check:
    def check(bot, before: Before) -> str | None:
        return None if predicate(bot) else f"not {what}"
    return check


def answered(text: str) -> Check:
    def check(bot, before: Before) -> str | None:
        return None if before.answer == text else f"answered {before.answer!r}, not {text!r}"
    return check


@needs_rows
def unchanged(bot, before: Before) -> str | None:
    tables = changed_tables(before.rows, snapshot(bot))
    return f"stored rows changed in {tables}" if tables else None


def form_opened(callback: CallbackId, number: int) -> Check:
    """The form for this incident is open, and opening it stored nothing."""
    @needs_rows
    def check(bot, before: Before) -> str | None:
        opened = bot.fake.calls_to("views.open")[before.opened:]
        views = [json.loads(c["view"]) if isinstance(c["view"], str) else c["view"] for c in opened]
        if [(v.get("callback_id"), v.get("private_metadata")) for v in views] != [(callback, str(number))]:
            return f"opened {[(v.get('callback_id'), v.get('private_metadata')) for v in views]}, " \
                   f"not the {callback} form for INC-{number}"
        return unchanged(bot, before)
    return check


# -- acting as someone ----------------------------------------------------------------------------------------

def command(bot, text: str, user: str, channel: str = "C0GENERAL") -> Callable[[], Awaitable[str]]:
    async def act() -> str:
        status, body, _ = await bot.slack.command(text, user=user, channel=channel)
        assert status == 200, body
        return reply_of(body)["text"] if body else ""
    return act


def click(bot, action: str, value: str, user: str, channel: str | None,
          block_id: str = BlockId.SUMMARY_ACTIONS) -> Callable[[], Awaitable[str]]:
    """A button press; the answer is what the bot said privately through the response_url."""
    async def act() -> str:
        said = len(bot.fake.responses)
        status, _, _ = await bot.slack.click(action, value, user=user, channel=channel or "C0GENERAL",
                                             block_id=block_id)
        assert status == 200
        await bot.settle()
        return "\n".join(r.get("text", "") for r in bot.fake.responses[said:])
    return act


def submit(bot, view: dict, answers: dict, user: str) -> Callable[[], Awaitable[str]]:
    """A form submission; the answer is the error shown under the form's field ("" when the form closed)."""
    async def act() -> str:
        status, body, _ = await bot.slack.submit(view, answers, user=user)
        assert status == 200, body
        if not body:
            return ""
        reply = json.loads(body)
        assert reply.get("response_action") == "errors", reply
        return "\n".join(reply["errors"].values())
    return act


def the_form(bot, opened_before: int, callback: CallbackId, incident: Incident) -> dict:
    """The form the bot opened since `opened_before` views; else (for someone who could not open it) the form as
    the bot builds it, under a view id never submitted."""
    opened = bot.fake.calls_to("views.open")[opened_before:]
    if opened:
        return list(bot.fake.views.values())[-1]
    build = {CallbackId.UPDATE_MODAL: incident_views.update_modal, CallbackId.RESOLVE_MODAL:
             incident_views.resolve_modal, CallbackId.HANDOFF_NOTE_MODAL: handoff_views.note_modal}[callback]
    return {**build(incident), "id": f"V0BUILT{next(_BUILT)}"}


_BUILT = itertools.count(1)


def forged(view: dict, other: Incident) -> dict:
    """The same form, with `private_metadata` naming another incident than the one it was opened for."""
    copied = copy.deepcopy(view)
    copied["private_metadata"] = str(other.number)
    return copied


# -- as an admin, behind the scenes: setting the scene for a cell and undoing what it changed -------------------

async def quietly(bot, change: Callable[[object], object]) -> None:
    """A change made through the services as an admin (it may already be in place)."""
    with contextlib.suppress(UserError):
        change(bot.runtime.services.working)
    await bot.settle()


def scene(bot, number: int, **fields) -> None:
    """Puts the incident straight into the state a row starts from (statuses only move forward through the bot)."""
    with bot.session() as s:
        incident = s.exec(select(Incident).where(Incident.number == number)).one()
        for name, value in fields.items():
            setattr(incident, name, value)
        s.add(incident)
        s.commit()


OPEN = {"status": "in_progress", "resolved_at": None, "duplicate_of": None}


def command_back(n: int):
    """U0CMD commands the incident again (if someone else took it)."""
    return lambda bot: quietly(bot, lambda s: s.set_commander(n, "U0ADMIN", "U0CMD"))


# -- /incident <change> ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    name: str
    text: str  # `{n}`: the incident's number
    kind: str | None = None  # the timeline event an allowed change stores…
    state: tuple[str, Callable[..., bool]] | None = None  # …and what is then true: (what, predicate(bot, incident))
    form: CallbackId | None = None  # or: the form it opens (storing nothing yet)
    needs: dict = field(default_factory=lambda: OPEN)  # the incident's fields the row starts from
    scene: Callable | None = None  # (service, n): before the row, as an admin
    undo: Callable | None = None  # (n) → (bot): after the row, so the people after start from the same incident


def _status(status: str) -> tuple[str, Callable[..., bool]]:
    return status, lambda bot, i: i.status == status


INCIDENT_COMMANDS = [
    Row("update <text>", "update INC-{n} the cache is warming up", "update",
        ("updated", lambda bot, i: i.last_update_at is not None), needs={**OPEN, "last_update_at": None}),
    Row("update (form)", "update INC-{n}", form=CallbackId.UPDATE_MODAL),
    Row("status triaged", "status INC-{n} triaged", "status", _status("triaged"), needs={**OPEN, "status": "new"}),
    Row("status in_progress", "status INC-{n} in_progress", "status", _status("in_progress"),
        needs={**OPEN, "status": "triaged"}),
    Row("status blocked", "status INC-{n} blocked waiting on the vendor", "status", _status("blocked")),
    Row("priority", "priority INC-{n} P1", "priority", ("P1", lambda bot, i: i.priority == "P1"),
        needs={**OPEN, "priority": "P2"}),
    Row("responders add", "responders INC-{n} add <@U0NEW>", "responders",
        ("with U0NEW responding", lambda bot, i: "U0NEW" in responders(bot, i.number)),
        scene=lambda s, n: s.remove_responders(n, "U0ADMIN", ["U0NEW"])),
    Row("responders remove", "responders INC-{n} remove <@U0NEW>", "responders",
        ("without U0NEW responding", lambda bot, i: "U0NEW" not in responders(bot, i.number)),
        scene=lambda s, n: s.add_responders(n, "U0ADMIN", ["U0NEW"])),
    Row("page @user", "page INC-{n} <@U0NEW>", "page",
        ("paging U0NEW", lambda bot, i: any(p.state in ("queued", "waiting") for p in pages(bot, i.number, "U0NEW"))),
        scene=lambda s, n: s.acknowledge(n, "U0ADMIN")),  # U0NEW's earlier pages are over
    Row("resolve (form)", "resolve INC-{n}", form=CallbackId.RESOLVE_MODAL),
    Row("status resolved (form)", "status INC-{n} resolved", form=CallbackId.RESOLVE_MODAL),
    Row("commander", "commander INC-{n} <@U0NEW>", "commander",
        ("commanded by U0NEW", lambda bot, i: i.commander_id == "U0NEW"), undo=command_back),
    Row("status resolved <note>", "status INC-{n} resolved rolled back the deploy", "resolved", _status("resolved")),
    Row("reopen", "reopen INC-{n}", "reopened", _status("in_progress"), needs={**OPEN, "status": "resolved"}),
    Row("close", "close INC-{n} not an incident", "closed", _status("closed")),
    Row("status closed", "status INC-{n} closed moved to the backlog", "closed", _status("closed")),
    Row("duplicate", "duplicate INC-{n} INC-1", "duplicate",
        ("a duplicate of INC-1", lambda bot, i: i.status == "duplicate" and i.duplicate_of == 1)),
]


async def test_incident_commands(make_bot):
    bot = await world(make_bot)
    original = await bot.declare("The original", priority="P2", commander="U0CMD")
    assert original.number == 1  # what `duplicate` rows point at
    n = (await involve(bot, "Everyone's incident")).number
    await incident_table(bot, n, MAY_CHANGE_INCIDENT, lambda role: incident_refusal(n))


async def test_incident_commands_on_a_private_incident(make_bot):
    """The column a private incident adds: its rotation's firefighter, not in its channel, is refused as a stranger
    is — told there is no such incident — and everyone in its channel, and ADMINS, may act as before."""
    bot = await world(make_bot)
    original = await bot.declare("The original", priority="P2", commander="U0CMD")
    assert original.number == 1
    incident = await involve(bot, "A private incident")
    with bot.session() as session:
        session.exec(sa.update(Incident).where(Incident.id == incident.id).values(private=True))
        repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=["U0CMD", "U0RESP", "U0PAGED"],
                                   at=bot.clock.now())
        session.commit()
    n = incident.number
    hidden = f"There is no INC-{n}."
    await incident_table(bot, n, MAY_CHANGE_INCIDENT - {"firefighter"},
                         lambda role: (lambda answer: answer == hidden) if role in ("firefighter", "stranger")
                         else incident_refusal(n))


async def incident_table(bot, n: int, may: set[str], refusal: Callable[[str], Refusal]) -> None:
    table = Table(bot)
    for role, user in PEOPLE.items():
        for row in INCIDENT_COMMANDS:
            scene(bot, n, **row.needs)
            if row.scene:
                await quietly(bot, lambda s, row=row: row.scene(s, n))
            if row.form:
                stored = [form_opened(row.form, n)]
            else:
                what, predicate = row.state
                stored = [event(n, row.kind, user), holds(n, what, lambda i, p=predicate: p(bot, i))]
            await table.cell(row.name, role, role in may, command(bot, row.text.format(n=n), user),
                             stored=stored, refused=refusal(role))
            if row.undo:
                await row.undo(n)(bot)
    table.verdict(len(INCIDENT_COMMANDS) * len(PEOPLE))


# -- the summary's buttons, the digest's "Add handoff note", and the forms behind them ------------------------

FORMS = {  # button → (its form, the timeline event its submission stores, the answers, block of the button)
    ActionId.POST_UPDATE: (CallbackId.UPDATE_MODAL, "update", {BlockId.UPDATE_TEXT: "the cache is warming up"},
                           BlockId.SUMMARY_ACTIONS),
    ActionId.HANDOFF_NOTE: (CallbackId.HANDOFF_NOTE_MODAL, "handoff note",
                            {BlockId.HANDOFF_NOTE: "watch the error rate after 18:00"}, "handoff_incident"),
    ActionId.RESOLVE: (CallbackId.RESOLVE_MODAL, "resolved", {BlockId.RESOLVE_SUMMARY: "rolled back the deploy",
                                                              BlockId.ROLLBACK: "yes"}, BlockId.SUMMARY_ACTIONS),
}


async def test_summary_buttons_digest_note_and_forms(make_bot):
    bot = await world(make_bot)
    other = await foreign_incident(bot)
    incident = await involve(bot, "Everyone's incident")
    n, here = incident.number, incident.channel_id
    refused = incident_refusal(n)
    table = Table(bot)

    async def button_and_form(role: str, user: str, button: ActionId, *after: Check) -> None:
        """The button opens the form; the form sent back naming another incident is refused (only an admin may
        change that one); the form as opened stores the change."""
        may = role in MAY_CHANGE_INCIDENT
        callback, kind, answers, block = FORMS[button]
        opened = len(bot.fake.calls_to("views.open"))
        await table.cell(f"{button} button", role, may, click(bot, button, str(n), user, here, block),
                         stored=[form_opened(callback, n)], refused=refused)
        form = the_form(bot, opened, callback, incident)
        if await table.cell(f"{callback} form, forged for another incident", role, role == "admin",
                            submit(bot, forged(form, other), answers, user),
                            stored=[event(other.number, kind, user)],
                            refused=incident_refusal(other.number)) and role == "admin":
            scene(bot, other.number, **OPEN)
            opened = len(bot.fake.calls_to("views.open"))
            await click(bot, button, str(n), user, here, block)()  # that form is closed: open it again
            form = the_form(bot, opened, callback, incident)
        await table.cell(f"{callback} form submitted", role, may, submit(bot, form, answers, user),
                         stored=[event(n, kind, user), *after], refused=refused)

    for role, user in PEOPLE.items():
        may = role in MAY_CHANGE_INCIDENT
        scene(bot, n, **OPEN)
        await button_and_form(role, user, ActionId.POST_UPDATE)
        await button_and_form(role, user, ActionId.HANDOFF_NOTE)

        scene(bot, n, acknowledged_at=None)
        live = await waiting_page(bot, n)
        await table.cell("Acknowledge button", role, may, click(bot, ActionId.ACKNOWLEDGE, str(n), user, here),
                         stored=[event(n, "acknowledged", user),
                                 holds(n, "acknowledged", lambda i: i.acknowledged_at is not None),
                                 page_done(live.id, user)], refused=refused)
        take = ([answered(f"INC-{n} is already commanded by you."), unchanged] if role == "commander" else
                [event(n, "commander", user), holds(n, f"commanded by {user}", lambda i, u=user: i.commander_id == u)])
        await table.cell("Take command button", role, may, click(bot, ActionId.TAKE_COMMAND, str(n), user, here),
                         stored=take, refused=refused)
        await command_back(n)(bot)

        await button_and_form(role, user, ActionId.RESOLVE, holds(n, "resolved", lambda i: i.status == "resolved"))
    table.verdict(11 * len(PEOPLE))


# -- the page's buttons and the `@here` page; the digest's "Hand over my incidents" ----------------------------

async def waiting_page(bot, number: int) -> Page:
    """U0PAGED's live page for the incident (paged again by the commander when the last one is over)."""
    live = [p for p in pages(bot, number, "U0PAGED") if p.state == "waiting"]
    if not live:
        _, body, _ = await bot.slack.command(f"page INC-{number} <@U0PAGED>", user="U0CMD")
        assert reply_of(body)["text"] == f"Paging <@U0PAGED> for INC-{number}.", body
        await bot.settle()
        live = [p for p in pages(bot, number, "U0PAGED") if p.state == "waiting"]
    assert len(live) == 1, live
    return live[0]


async def here_page(bot, number: int) -> Page:
    """A fresh chain passed on by U0PAGED, then by U0FF (the primary), to `@here` in the rotation's channel."""
    first = await waiting_page(bot, number)
    second = bot.runtime.services.paging.escalate_page(first.id, "U0PAGED")
    await bot.settle()
    here = bot.runtime.services.paging.escalate_page(second.id, second.target_user_id)
    await bot.settle()
    here = page(bot, here.id)
    assert (second.target_user_id, here.target_role, here.target_channel, here.state) == (
        "U0FF", "channel", "C0PAY", "waiting"), here
    return here


def page_done(page_id: int, acknowledged_by: str | None = None) -> Check:
    def check(bot, before: Before) -> str | None:
        stored = page(bot, page_id)
        if stored.state != "done" or (acknowledged_by and stored.acknowledged_by != acknowledged_by):
            return f"page {page_id} is {stored.state}, acknowledged by {stored.acknowledged_by}"
        return None
    return check


def next_step(paged: Page) -> Check:
    def check(bot, before: Before) -> str | None:
        chain = [p for p in pages(bot, current_number(bot, paged)) if p.chain == paged.chain]
        steps = [(p.step, p.target_user_id or p.target_channel) for p in chain]
        return None if (paged.step + 1, "U0FF") in steps else f"the chain did not move on: {steps}"
    return check


def current_number(bot, paged: Page) -> int:
    with bot.session() as s:
        return s.exec(select(Incident.number).where(Incident.id == paged.incident_id)).one()


def escalate_refusal(number: int) -> Refusal:
    pattern = re.compile(rf"^Only the person paged \(<@U0PAGED>\).*\bINC-{number}\b")
    return lambda answer: bool(pattern.search(answer))


async def test_page_buttons(make_bot):
    bot = await world(make_bot)
    incident = await involve(bot, "Pages for everyone")
    n = incident.number
    table = Table(bot)
    for role, user in PEOPLE.items():
        paged = await waiting_page(bot, n)
        await table.cell("page DM: Acknowledge", role, role in MAY_CHANGE_INCIDENT,
                         click(bot, ActionId.PAGE_ACKNOWLEDGE, str(paged.id), user, "DU0PAGED", BlockId.PAGE_ACTIONS),
                         stored=[event(n, "acknowledged", user), page_done(paged.id, user)],
                         refused=incident_refusal(n))
    for role, user in PEOPLE.items():
        paged = await waiting_page(bot, n)
        await table.cell("page DM: Escalate", role, role in MAY_ESCALATE,
                         click(bot, ActionId.PAGE_ESCALATE, str(paged.id), user, "DU0PAGED", BlockId.PAGE_ACTIONS),
                         stored=[event(n, "escalated", user), page_done(paged.id), next_step(paged)],
                         refused=escalate_refusal(n))
    for role, user in PEOPLE.items():
        here = await here_page(bot, n)
        await table.cell("@here page: Acknowledge", role, True,
                         click(bot, ActionId.PAGE_ACKNOWLEDGE, str(here.id), user, "C0PAY", BlockId.PAGE_ACTIONS),
                         stored=[event(n, "acknowledged", user), page_done(here.id, user)],
                         refused=incident_refusal(n))
    table.verdict(3 * len(PEOPLE))


async def test_hand_over_button(make_bot):
    """A week after `payments` started with [U0CMD, U0FF], U0CMD (last shift's primary, who commands the incident)
    may hand over to U0FF (this shift's primary); the value is the button's as the posted digest carries it."""
    bot = await world(make_bot, roster=("U0CMD", "U0FF"))
    n = (await involve(bot, "Handed over")).number
    bot.clock.advance(days=7)
    _, body, _ = await bot.slack.command("handoff payments", user="U0FF", channel="C0PAY")
    await bot.settle()
    digest = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and p.get("blocks")
                  and ActionId.HAND_OVER in json.dumps(p["blocks"]))
    value = next(e["value"] for b in digest["blocks"] for e in b.get("elements", [])
                 if e.get("action_id") == ActionId.HAND_OVER)
    rotation_id = rotation(bot, "payments").id
    assert value == f"{rotation_id}:U0CMD:U0FF"
    table = Table(bot)
    hand_over_refusal = re.compile(r"^Only <@U0CMD> \(or <@U0FF>, or an admin\) can hand these incidents over")
    for role, user in PEOPLE.items():
        assert current(bot, n).commander_id == "U0CMD"
        await table.cell("digest: Hand over my incidents", role, role in MAY_HAND_OVER,
                         click(bot, ActionId.HAND_OVER, value, user, "C0PAY", BlockId.HANDOFF_ACTIONS),
                         stored=[event(n, "commander", user),
                                 holds(n, "commanded by U0FF", lambda i: i.commander_id == "U0FF")],
                         refused=lambda answer: bool(hand_over_refusal.search(answer)))
        await command_back(n)(bot)
    # A forged button naming the stranger as the incoming primary: the rotation says otherwise.
    out_of_date = re.compile(r"^This button is out of date")
    for forged in (f"{rotation_id}:U0CMD:U0STRANGER", f"{rotation_id}:U0STRANGER:U0FF", f"{rotation_id + 1}:U0CMD:U0FF",
                   "99999999999:U0CMD:U0FF"):
        await table.cell(f"digest: Hand over, forged ({forged})", "stranger", False,
                         click(bot, ActionId.HAND_OVER, forged, "U0STRANGER", "C0PAY", BlockId.HANDOFF_ACTIONS),
                         stored=[], refused=lambda answer: bool(out_of_date.search(answer)))
    # Someone on call by an override (covering, not on the roster) is the incoming primary the digest names.
    _, body, _ = await bot.slack.command("rotation override <@U0COVER> now tomorrow", user="U0CREATOR", channel="C0PAY")
    assert reply_of(body)["text"].startswith("<@U0COVER> is primary on `payments`"), body
    await table.cell("digest: Hand over my incidents, incoming primary by override", "incoming (override)", True,
                     click(bot, ActionId.HAND_OVER, f"{rotation_id}:U0CMD:U0COVER", "U0COVER", "C0PAY",
                           BlockId.HANDOFF_ACTIONS),
                     stored=[event(n, "commander", "U0COVER"),
                             holds(n, "commanded by U0COVER", lambda i: i.commander_id == "U0COVER")],
                     refused=lambda answer: answer.startswith("Only "))
    table.verdict(len(PEOPLE) + 5)


# -- /incident rotation <change> ------------------------------------------------------------------------------

def forget(model, **where):
    """Undo a stored override or swap (there is no command for that)."""
    def undo(bot) -> None:
        with bot.session() as s:
            s.exec(delete(model).where(*(getattr(model, k) == v for k, v in where.items())))
            s.commit()
    return undo


def members_are(*users: str) -> Callable:
    return lambda bot: roster(bot) == list(users)


def stored_row(model, user: str) -> Callable:
    def check(bot) -> bool:
        with bot.session() as s:
            return any(r.created_by == user for r in s.exec(select(model)))
    return check


def roster_rows(user: str, feed: int) -> list[tuple[str, str, Callable, Callable]]:
    """(name, command, what is true after an allowed change, its undo) — for `user` acting, the feed at `feed`."""
    rotations = lambda bot: bot.runtime.services.rotations  # noqa: E731
    payments = lambda bot: rotation(bot, "payments")  # noqa: E731
    return [
        ("rotation add", "rotation add <@U0NEW>", members_are("U0FF", "U0FF2", "U0NEW"),
         lambda bot: rotations(bot).remove_members(payments(bot), ["U0NEW"], "U0ADMIN")),
        ("rotation remove", "rotation remove <@U0FF2>", members_are("U0FF"),
         lambda bot: rotations(bot).add_members(payments(bot), ["U0FF2"], "U0ADMIN")),
        ("rotation order", "rotation order <@U0FF2> <@U0FF>", members_are("U0FF2", "U0FF"),
         lambda bot: rotations(bot).reorder(payments(bot), ["U0FF", "U0FF2"], "U0ADMIN")),
        ("rotation override", "rotation override <@U0NEW> now tomorrow", stored_row(RotationOverride, user),
         forget(RotationOverride, created_by=user)),
        ("rotation swap", "rotation swap <@U0FF> <@U0FF2>", stored_row(RotationSwap, user),
         forget(RotationSwap, created_by=user)),
        ("rotation feed-reset", "rotation feed-reset",  # the calendar links handed out so far stop working
         lambda bot: payments(bot).feed_version == feed + 1, lambda bot: None),
    ]


async def test_roster_commands(make_bot):
    bot = await world(make_bot, roster=("U0FF", "U0FF2"))
    await involve(bot, "Commanding, responding or being paged gives no say over the roster")
    table = Table(bot)
    for role, user in ROSTER_PEOPLE.items():
        for name, text, after, undo in roster_rows(user, rotation(bot, "payments").feed_version):
            assert roster(bot) == ["U0FF", "U0FF2"]
            await table.cell(name, role, role in MAY_CHANGE_ROSTER, command(bot, text, user, channel="C0PAY"),
                             stored=[that(f"stored: {text}", after)], refused=lambda answer: answer == ROSTER_REFUSAL)
            if after(bot):  # the next person starts from the same roster
                undo(bot)
                await bot.settle()
    table.verdict(6 * len(ROSTER_PEOPLE))
