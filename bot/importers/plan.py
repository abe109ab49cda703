"""`--plan` (SPEC § Moving in): every object a source has, ✓ with what it becomes here or ✗ with why not. Reads the
source, Slack (people by email, channels by name) and the database (what is here already); changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.db import repo
from bot.domain.heartbeats import NAME as HEARTBEAT_NAME
from bot.domain.import_policies import PlannedPolicy, opsgenie_policy, pagerduty_policy
from bot.domain.importing import Planned, pagerduty_schedule
from bot.domain.importing_opsgenie import opsgenie_schedule
from bot.domain.shifts import describe_shape
from bot.domain.stats import humanize
from bot.importers.sources import SourceData
from bot.slack.gateway import SlackGateway

KINDS = ("user", "schedule", "override", "policy", "heartbeat")  # the order they are shown and applied in
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_INTERVAL = {"minutes": 60, "hours": 3600, "days": 86400}
Progress = Callable[[Iterable, str], Iterable]


@dataclass
class Item:
    """One source object: `problems` empty means it can be imported (`payload` is what apply needs); `done`: it
    was imported by an earlier --apply (its source id is remembered)."""

    kind: str
    source_id: str
    label: str
    becomes: str = ""
    problems: tuple[str, ...] = ()
    done: bool = False
    payload: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        if self.problems:
            return f"✗ {self.kind} {self.label}: {'; '.join(self.problems)}"
        return f"✓ {self.kind} {self.label} → {self.becomes}" + (" (imported already)" if self.done else "")


@dataclass
class ImportPlan:
    data: SourceData
    now: datetime  # the moment the rosters were turned for (--apply starts the rotations there)
    items: list[Item] = field(default_factory=list)
    slack_of: dict[str, str] = field(default_factory=dict)  # source user id → Slack user id
    rotations: dict[str, str] = field(default_factory=dict)  # schedule id → rotation name, imported or to be

    def email(self, slack_id: str) -> str:
        return next((self.data.emails[u] for u, s in self.slack_of.items() if s == slack_id), slack_id)


def _quoted(text: object) -> str:
    return '"' + " ".join(str(text).split())[:80] + '"'


def _channel_rules(pairs: Iterable[str]) -> dict[str, str]:
    """`--channel "<team or schedule>=#channel"` → {lower-case name: channel}."""
    rules = {}
    for pair in pairs:
        key, sep, channel = pair.partition("=")
        if not sep or not key.strip() or not channel.strip():
            raise ValueError(f"--channel {pair!r}: say --channel \"<team or schedule>=#channel\"")
        rules[key.strip().lower()] = channel.strip()
    return rules


class Planner:
    def __init__(self, settings: Settings, db: repo.database.Database, slack: SlackGateway, progress: Progress):
        self.settings, self.db, self.slack, self.progress = settings, db, slack, progress
        self._channels: dict[str, tuple[str | None, str]] = {}

    async def plan(self, data: SourceData, channels: Iterable[str], now: datetime) -> ImportPlan:
        rules = _channel_rules(channels)
        plan = ImportPlan(data, now)
        await self._people(plan)
        with self.db.reading() as session:
            done = repo.imports.imported(session=session, source=data.source)
            here = repo.rotations.all_rotations(session=session)
            heartbeats = {h.name for h in repo.heartbeats.heartbeats(session=session)}
        names = {r.id: r.name for r in here}
        taken_names, taken_channels = set(names.values()), {r.channel_id: r.name for r in here}
        for schedule in data.schedules:
            await self._schedule(plan, schedule, rules, done, names, taken_names, taken_channels, now)
        self._overrides(plan, done, now)
        self._policies(plan, done, names)
        self._heartbeats(plan, done, heartbeats)
        return plan

    async def _people(self, plan: ImportPlan) -> None:
        for user_id, email in self.progress(list(plan.data.emails.items()), "Slack accounts by email"):
            found = await self.slack.user_by_email(email) if email else None
            if found:
                plan.slack_of[user_id] = found
                plan.items.append(Item("user", user_id, email, f"Slack user {found}"))
            else:
                plan.items.append(Item("user", user_id, email or user_id, problems=(
                    "no Slack account with this email" if email else "no email at the source",)))

    async def _channel(self, wanted: str) -> tuple[str | None, str]:
        """(channel id or None, shown as) for `#name` or an ID; None with why when Slack has no such channel."""
        if wanted not in self._channels:
            name = wanted.lstrip("#").lower()
            if _CHANNEL_ID.match(wanted):
                self._channels[wanted] = (wanted, wanted)
            else:
                found = await self.slack.channel_named(name)
                if found is None:
                    self._channels[wanted] = (None, f"there is no public channel #{name} (give a private channel's "
                                                    "ID, and invite the bot)")
                elif found.get("is_general"):
                    self._channels[wanted] = (None, f"#{name} is the workspace's general channel: its pages would "
                                                    "reach everyone")
                else:
                    self._channels[wanted] = (str(found["id"]), f"#{name}")
        return self._channels[wanted]

    async def _schedule(self, plan: ImportPlan, schedule: dict, rules: dict[str, str], done: dict, names: dict,
                        taken_names: set, taken_channels: dict, now: datetime) -> None:
        data = plan.data
        mapped: Planned = (pagerduty_schedule if data.source == "pagerduty" else opsgenie_schedule)(
            schedule, plan.slack_of, now)
        label = _quoted(schedule.get("name") or mapped.source_id)
        if ("schedule", mapped.source_id) in done:
            name = names.get(done["schedule", mapped.source_id], mapped.name)
            plan.rotations[mapped.source_id] = name
            plan.items.append(Item("schedule", mapped.source_id, label, f"rotation {name}", done=True))
            return
        keys = [str(schedule.get("name", "")).lower(), mapped.name, *(t.lower() for t in data.teams.get(
            mapped.source_id, []))]
        wanted = next((rules[k] for k in keys if k in rules), None)
        problems = list(mapped.problems)
        channel_id, shown = await self._channel(wanted) if wanted else (None, "no channel: say --channel "
                                                                              f"\"{schedule.get('name')}=#channel\"")
        if channel_id is None:
            problems.append(shown)
        elif channel_id in taken_channels:
            problems.append(f"{shown} belongs to the rotation {taken_channels[channel_id]} already")
        if mapped.name in taken_names:
            problems.append(f"there is a rotation called {mapped.name} here already")
        if problems:
            plan.items.append(Item("schedule", mapped.source_id, label, problems=tuple(problems)))
            return
        taken_names.add(mapped.name)
        taken_channels[channel_id] = mapped.name
        plan.rotations[mapped.source_id] = mapped.name
        people = ", ".join(plan.email(u) for u in mapped.roster)
        layers = "".join(f"; layer {layer.name} {layer.describe()}: {', '.join(plan.email(u) for u in layer.roster)}"
                         for layer in mapped.layers)
        plan.items.append(Item("schedule", mapped.source_id, label,
                               f"rotation {mapped.name} in {shown}, handoff {describe_shape(mapped.handoff)}, "
                               f"from {mapped.handoff.anchor}: {people}{layers}", payload=(mapped, channel_id)))

    def _overrides(self, plan: ImportPlan, done: dict, now: datetime) -> None:
        schedules = {s["id"]: s for s in plan.data.schedules}
        for schedule_id, overrides in plan.data.overrides.items():
            for override in overrides:
                start, end = datetime.fromisoformat(override["start"]), datetime.fromisoformat(override["end"])
                if end <= now:
                    continue
                label = f"{override['id']} ({start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC)"
                rotation = plan.rotations.get(schedule_id)
                if ("override", str(override["id"])) in done:
                    plan.items.append(Item("override", str(override["id"]), label, f"override on {rotation}",
                                           done=True))
                    continue
                scoped = set(override.get("rotations") or [])
                every = {r.get("id") for r in schedules.get(schedule_id, {}).get("rotations") or []}
                problems = []
                if rotation is None:
                    problems.append("its schedule is not imported")
                if override["user"] is None:
                    problems.append("it puts nobody on call (here an override names a person)")
                elif override["user"] not in plan.slack_of:
                    problems.append(f"its user {override['user']} has no Slack account found by their email")
                if scoped and len(every) > 1 and scoped != every:
                    problems.append("it overrides only some of the schedule's rotations")
                user = plan.slack_of.get(override["user"] or "")
                plan.items.append(Item("override", str(override["id"]), label, problems=tuple(problems)) if problems
                                  else Item("override", str(override["id"]), label,
                                            f"{plan.email(user)} holds the pager of {rotation}",
                                            payload=(schedule_id, user, start, end)))

    def _policies(self, plan: ImportPlan, done: dict, names: dict[int, str]) -> None:
        taken = {names[local]: "imported before" for (kind, _), local in done.items()
                 if kind == "policy" and local in names}
        for policy in plan.data.policies:
            mapped: PlannedPolicy = (pagerduty_policy if plan.data.source == "pagerduty" else opsgenie_policy)(
                policy, plan.rotations, plan.slack_of)
            label = _quoted(mapped.label)
            if ("policy", mapped.source_id) in done:
                plan.items.append(Item("policy", mapped.source_id, label, "an escalation policy", done=True))
                continue
            problems = list(mapped.problems)
            rotation = plan.rotations.get(mapped.schedule_id or "")
            if rotation in taken:
                problems.append(f"the rotation {rotation} takes the policy {taken[rotation]} already")
            if problems:
                plan.items.append(Item("policy", mapped.source_id, label, problems=tuple(problems)))
                continue
            taken[rotation] = label
            steps = " → ".join(f"{s.kind if s.kind != 'person' else plan.email(s.ref)} {s.seconds // 60}m"
                               for s in mapped.policy.steps)
            repeat = f", repeat {mapped.policy.repeat}" if mapped.policy.repeat else ""
            plan.items.append(Item("policy", mapped.source_id, label, f"the P0 and P1 escalation policy of "
                                   f"{rotation}: {steps}{repeat}", payload=(mapped.schedule_id, mapped.policy)))

    def _heartbeats(self, plan: ImportPlan, done: dict, here: set[str]) -> None:
        for beat in plan.data.heartbeats:
            name = str(beat.get("name", "")).strip().lower()
            label = _quoted(beat.get("name"))
            if ("heartbeat", name) in done:
                plan.items.append(Item("heartbeat", name, label, f"heartbeat {name}", done=True))
                continue
            unit = _INTERVAL.get(str(beat.get("intervalUnit")))
            seconds = int(beat.get("interval") or 0) * (unit or 0)
            problems = []
            if not HEARTBEAT_NAME.fullmatch(name):
                problems.append("its name cannot be a heartbeat's here (lowercase letters, digits, -, _ or .)")
            if beat.get("enabled") is False:
                problems.append("it is disabled at Opsgenie")
            if not 60 <= seconds <= 35 * 86400:
                problems.append("its interval is not between 1 minute and 35 days")
            if name in here:
                problems.append(f"there is a heartbeat called {name} here already")
            team = str((beat.get("ownerTeam") or {}).get("name") or "").lower()
            rotation = next((plan.rotations[s] for s, teams in plan.data.teams.items()
                             if s in plan.rotations and team and team in (t.lower() for t in teams)), None)
            priority = "P0" if str(beat.get("alertPriority")) == "P1" else "P1"
            plan.items.append(Item("heartbeat", name, label, problems=tuple(problems)) if problems else Item(
                "heartbeat", name, label, f"heartbeat {name} every {humanize(timedelta(seconds=seconds))} ({priority}"
                + (f", pages {rotation})" if rotation else ")"), payload=(seconds, rotation, priority)))
