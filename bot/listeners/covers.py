""""Cover me" buttons: I'll cover and Withdraw on a request in the rotation's channel, and the App Home's Ask for
cover on one of your shifts. Each change is made before the ack (one short transaction under the rotation's lock:
two presses at the same moment make one override), and the presser is answered privately right after."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from bot.domain.errors import UserError
from bot.domain.rotation import Role
from bot.listeners import after_ack, off_loop, say_privately, wired
from bot.listeners.home import publish_home
from bot.listeners.working import action_key, action_number
from bot.services import Covers, Rotations
from bot.slack.text import as_int, date_token, escape

log = logging.getLogger(__name__)


async def _answer(ack, body, context, respond, work, *args) -> None:
    user = body["user"]["id"]
    try:
        answer = await off_loop(context, work, *args)
    except UserError as exc:
        answer = str(exc)
    except OperationalError:  # the database refusing for a moment (locked, a lost connection): the presser is told
        log.exception("a cover button could not be handled")  # (bugs go to the app's one error handler)
        answer = "That did not go through just now (nothing changed); press the button again in a moment."
    await ack()
    after_ack(context, say_privately(respond, answer, context=context, user=user), "cover-answer")
    if (body.get("view") or {}).get("type") == "home":
        after_ack(context, publish_home(context, user), "home")


def _take(covers: Covers, cover_id: int, user: str, key: str | None) -> str:
    cover = covers.take(cover_id, user, key)
    return (f"Thanks! You are {cover.role} from {date_token(cover.starts_at)} to {date_token(cover.ends_at)}, "
            f"covering <@{cover.requester}>.")


def _withdraw(covers: Covers, cover_id: int, user: str, key: str | None) -> str:
    covers.withdraw(cover_id, user, key)
    return "Withdrawn: nobody will take it now."


async def take(ack, body, action, context, respond) -> None:
    await _answer(ack, body, context, respond, _take, wired(context).services.covers, action_number(action),
                  body["user"]["id"], action_key(body))


async def withdraw(ack, body, action, context, respond) -> None:
    await _answer(ack, body, context, respond, _withdraw, wired(context).services.covers, action_number(action),
                  body["user"]["id"], action_key(body))


def _ask(rotations: Rotations, covers: Covers, value: str, user: str, key: str | None) -> str:
    """The button carries `<rotation id>:<role>:<start>:<end>` (seconds since the epoch) of one of your shifts."""
    parts = value.split(":")
    numbers = [as_int(p) for p in (parts[0], *parts[2:4])] if len(parts) == 4 else []
    if len(numbers) != 3 or None in numbers or parts[1] not in Role._value2member_map_:
        raise UserError("This button is out of date; open the Home tab again.")
    rotation_id, start, end = numbers
    rotation = next((r for r in rotations.all() if r.id == rotation_id), None)
    if rotation is None:
        raise UserError("That rotation is gone.")
    cover = covers.request(rotation, user, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC),
                           Role(parts[1]), "", key)
    return (f"Asked `{escape(rotation.name)}` to cover you as {cover.role} from {date_token(cover.starts_at)} to "
            f"{date_token(cover.ends_at)}: the request is in <#{rotation.channel_id}>.")


async def ask(ack, body, action, context, respond) -> None:
    services = wired(context).services
    await _answer(ack, body, context, respond, _ask, services.rotations, services.covers,
                  action.get("value") or "", body["user"]["id"], action_key(body))
