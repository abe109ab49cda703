"""`/incident me …`: a person's own settings — contact methods beyond Slack (`me contact add|verify|test|remove`,
`me contacts`), the rules pages follow (`me rules`), whose public holidays are theirs (`me holidays`), calendar
links (`me feed-reset`) — and the App Home's Test and
Remove buttons on a contact method. The answer is only ever for the person who asked."""

from __future__ import annotations

from bot.domain.errors import UserError
from bot.domain.holidays import HolidayCalendar
from bot.listeners import after_ack, off_loop, rotation_commands, say_privately, wired
from bot.listeners.home import publish_home
from bot.services import Contacts, People, Rotations
from bot.views.contacts import contacts_text

ME_USAGE = ("Use `/incident me contact add <sms|push|email> <address>`, `me contact verify <code>`, "
            "`me contact test [kind]`, `me contact remove <kind>`, `me contacts`, `me rules <method> <delay>, …` "
            "`me holidays <DE-BY|US-CA|…|none|team>` or `me feed-reset`.")


def me(contacts: Contacts, rotations: Rotations, people: People, team_holidays: HolidayCalendar | None, args: str,
       user: str) -> str:
    verb, _, rest = args.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "holidays" and len(rest.split()) <= 1:
        return people.holidays(user, rest, team_holidays)
    if verb == "feed-reset":
        return rotation_commands.me(rotations, args, user)
    if verb == "contacts" and not rest:
        return contacts_text(contacts.of(user))
    if verb == "rules":
        return contacts.set_rules(user, rest) if rest else contacts_text(contacts.of(user))
    if verb != "contact":
        raise UserError(ME_USAGE)
    action, _, rest = rest.partition(" ")
    action, words = action.lower(), rest.split()
    if action == "add" and len(words) >= 2:
        return contacts.add(user, words[0], " ".join(words[1:]))
    if action == "verify" and words:
        return contacts.verify(user, "".join(words))
    if action == "test" and len(words) <= 1:
        return contacts.test(user, words[0] if words else None)
    if action == "remove" and len(words) == 1:
        return contacts.remove(user, words[0])
    raise UserError(ME_USAGE)


async def _button(ack, body, action, context, respond, work) -> None:
    """The change is made (one short transaction) before the ack, as the cover buttons do; the presser is answered
    privately and the Home tab published again right after."""
    user = body["user"]["id"]
    try:
        answer = await off_loop(context, work, wired(context).services.contacts, user, action.get("value") or "")
    except UserError as exc:
        answer = str(exc)
    await ack()
    after_ack(context, say_privately(respond, answer, context=context, user=user), "contact-answer")
    after_ack(context, publish_home(context, user), "home")


async def test_method(ack, body, action, context, respond) -> None:
    await _button(ack, body, action, context, respond, Contacts.test)


async def remove_method(ack, body, action, context, respond) -> None:
    await _button(ack, body, action, context, respond, Contacts.remove)
