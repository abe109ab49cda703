"""What the people of the demo's workspace saw, as text: channel by channel, people and channels by name, each
message as Slack shows it (its blocks when it has them, else its text) where it was posted, each edit where it
was made, ephemeral answers marked as seen by one person; then what reached bob's phone beyond Slack and what he
did with its link. Pure: from a `Transcript` to a string."""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass, field

from demo.phone import OWNER, PhoneEvent
from demo.workspace import Entry, Transcript
from tests.slack_requests import initial_value

BOT = "Firefighter"
WIDTH = 110
EMOJI = {"white_check_mark": "✅", "rotating_light": "🚨", "fire_engine": "🚒", "busts_in_silhouette": "👥",
         "twisted_rightwards_arrows": "🔀", "tada": "🎉", "pager": "📟", "repeat": "🔁", "red_circle": "🔴",
         "memo": "📝", "firefighter": "🧑‍🚒", "arrow_down": "⬇️", "arrow_up": "⬆️", "white_circle": "⚪",
         "warning": "⚠️", "page_facing_up": "📄", "no_entry_sign": "🚫", "mega": "📣", "mag": "🔍",
         "leftwards_arrow_with_hook": "↩️", "large_orange_circle": "🟠", "house": "🏠", "eyes": "👀",
         "hourglass_flowing_sand": "⏳", "arrows_counterclockwise": "🔄", "alarm_clock": "⏰", "pushpin": "📌"}


@dataclass
class Message:
    author: str
    lines: list[str]
    edit_of: str | None = None  # an edit: the first line of the message it changed
    pinned: bool = False
    only_for: str | None = None  # an ephemeral message: the one person who sees it
    thread_of: str | None = None


@dataclass
class Channel:
    name: str
    members: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)


class Renderer:
    def __init__(self, transcript: Transcript) -> None:
        self.t = transcript
        self.channels: dict[str, Channel] = {}

    # -- names ---------------------------------------------------------------------------------------

    def person(self, user_id: str) -> str:
        return "@" + self.t.people.get(user_id, user_id)

    def where(self, channel_id: str) -> str:
        """The key of a conversation: a channel's id, or `D<user>` for the bot's DM with a person."""
        if channel_id.startswith(("U", "W")):
            return "D" + channel_id
        if channel_id.startswith("#"):
            return next((cid for cid, name in self.t.channels.items() if name == channel_id[1:]), channel_id)
        return channel_id

    def channel(self, channel_id: str) -> Channel:
        key = self.where(channel_id)
        if key not in self.channels:
            if key.startswith("D") and key[1:] in self.t.people:
                title = f"Direct messages between {BOT} and {self.person(key[1:])}"
            else:
                title = "#" + self.t.channels.get(key, key)
            self.channels[key] = Channel(title)
        return self.channels[key]

    def text(self, raw: str) -> str:
        """Slack's markup as a person reads it: mentions and channels by name, dates by their fallback, links
        with their address, emoji as characters."""
        def link(match: re.Match) -> str:
            inside = match.group(1)
            target, _, label = inside.partition("|")
            if target.startswith("@"):
                return self.person(target[1:])
            if target.startswith("#"):
                return "#" + (self.t.channels.get(target[1:]) or label or target[1:])
            if target.startswith("!date^"):
                return label or target
            if target.startswith("!"):
                return "@" + (label or target[1:].split("^")[0])
            return f"{label} ({target})" if label and label != target else target

        def emoji(match: re.Match) -> str:
            return EMOJI.get(match.group(1), match.group(0))

        shown = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", raw)  # *bold* and _italic_ read as words
        shown = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"\1", shown)
        return html.unescape(re.sub(r":([a-z0-9_+-]+):", emoji, re.sub(r"<([^<>]+)>", link, shown)))

    # -- messages ------------------------------------------------------------------------------------

    def blocks(self, blocks: list[dict]) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "header":
                lines.append(self.text(block["text"]["text"]))
            elif kind == "section":
                if block.get("text"):
                    lines += self.text(block["text"]["text"]).splitlines()
                fields = [self._field(f["text"]) for f in block.get("fields") or []]
                lines += [" · ".join(fields[i:i + 2]) for i in range(0, len(fields), 2)]
                if (block.get("accessory") or {}).get("type") == "button":
                    lines.append(_button(block["accessory"]))
            elif kind == "context":
                lines.append(" · ".join(self.text(e["text"]) for e in block.get("elements") or [] if "text" in e))
            elif kind == "actions":
                lines.append(" ".join(_button(e) if e.get("type") == "button" else f"[{e.get('type')}]"
                                      for e in block.get("elements") or []))
            elif kind == "divider":
                lines.append("─" * 20)
        return lines

    def _field(self, raw: str) -> str:
        label, newline, value = raw.partition("\n")
        if newline and label.startswith("*") and label.endswith("*"):
            return f"{self.text(label.strip('*'))}: {self.text(value)}"
        return self.text(raw)

    def content(self, text: str | None, blocks: list | None) -> list[str]:
        return self.blocks(blocks) if blocks else self.text(text or "").splitlines()

    def form(self, entry: Entry) -> list[str]:
        """The form as the person filled it in: each question they answered, with their answer."""
        view = entry.view or {}
        answers = entry.answers or {}
        lines = [f"{self.t.people.get(entry.user, entry.user)} fills in the form “{self.text(view['title']['text'])}”:"]
        for block in view.get("blocks") or []:
            if block.get("type") != "input":
                continue
            element = block["element"]
            answer = answers.get(block["block_id"], initial_value(element))
            shown = self._answer(element, answer)
            if shown:
                label = self.text(block["label"]["text"])
                first, *more = shown.splitlines()
                lines.append(f"│ {label}: {first}")
                lines += [f"│   {line}" for line in more]
        submit = (view.get("submit") or {}).get("text", "Submit")
        lines.append(f"└ [{submit}]")
        return lines

    def _answer(self, element: dict, answer: object) -> str:
        options = {o["value"]: self.text(o["text"]["text"]) for o in element.get("options") or []}
        if answer in (None, "", []):
            return ""
        if isinstance(answer, list):
            return ", ".join(options.get(a, a) for a in answer)
        if element.get("type") in ("users_select",):
            return self.person(str(answer))
        return options.get(str(answer), str(answer))

    # -- the whole story -----------------------------------------------------------------------------

    def build(self) -> None:
        by_ts: dict[tuple[str, str], Message] = {}
        pending = sorted(enumerate(self.t.entries), key=lambda item: (item[1].seq, item[0]))
        for position, call in enumerate(self.t.calls):
            while pending and pending[0][1].seq <= position:
                self.entry(*pending.pop(0))
            self.call(call, by_ts)
        for index, entry in pending:
            self.entry(index, entry)

    def entry(self, index: int, entry: Entry) -> None:
        channel = self.channel(entry.channel)
        who = self.t.people.get(entry.user, entry.user)
        if entry.kind == "typed":
            channel.messages.append(Message(who, [self.text(entry.text)]))
        elif entry.kind == "clicked":
            channel.messages.append(Message("", [f"{who} presses [{entry.text}]"]))
        elif entry.kind == "aside":  # what a person did outside Slack, where it happened among the messages
            channel.messages.append(Message("", [f"({who} {entry.text})"]))
        elif entry.kind == "form":
            channel.messages.append(Message("", self.form(entry)))
        elif entry.kind == "answer":
            channel.messages.append(Message(BOT, self.content(entry.text, entry.blocks),
                                            only_for=entry.user if entry.ephemeral else None))
        for response in self.t.responses.get(f"{entry.seq}.{index}", []):  # what the bot said later, by respond()
            public = response.get("response_type") == "in_channel"
            channel.messages.append(Message(BOT, self.content(response.get("text"), response.get("blocks")),
                                            only_for=None if public else entry.user))

    def call(self, call: dict, by_ts: dict[tuple[str, str], Message]) -> None:
        method, args, answer = call["method"], call["args"], call.get("answer") or {}
        if not answer.get("ok"):
            return  # Slack refused it: nobody saw anything
        if method == "chat.postMessage":
            key = self.where(answer.get("channel") or args["channel"])
            message = Message(BOT, self.content(args.get("text"), args.get("blocks")),
                              thread_of=args.get("thread_ts"))
            self.channel(key).messages.append(message)
            by_ts[(key, answer.get("ts", ""))] = message
        elif method == "chat.postEphemeral":
            self.channel(args["channel"]).messages.append(
                Message(BOT, self.content(args.get("text"), args.get("blocks")), only_for=args.get("user")))
        elif method == "chat.update":
            original = by_ts.get((self.where(args["channel"]), args.get("ts", "")))
            if original is not None:
                self.channel(args["channel"]).messages.append(Message(
                    BOT, self.content(args.get("text"), args.get("blocks")), edit_of=original.lines[0],
                    pinned=original.pinned))
        elif method == "pins.add":
            message = by_ts.get((self.where(args["channel"]), args.get("timestamp", "")))
            if message is not None:
                message.pinned = True
        elif method == "conversations.create":
            self.channel(answer["channel"]["id"]).messages.append(Message("", [f"· {BOT} created the channel"]))
        elif method == "conversations.invite":
            channel = self.channel(args["channel"])
            added = [u for u in args["users"].split(",") if u and u not in channel.members]
            channel.members.update(added)
            if added:
                channel.messages.append(Message("", [f"· {BOT} added {', '.join(self.person(u) for u in added)}"]))
        elif method == "conversations.setTopic":
            topic = self.text(args.get("topic") or "")
            self.channel(args["channel"]).messages.append(Message("", [f"· {BOT} set the topic: {topic}"]))

    def render(self) -> str:
        self.build()
        *others, last = sorted(self.t.people.values())
        out = [f"What {', '.join(others)} and {last} saw in Slack, channel by channel:"]
        ordered = sorted(self.channels.items(), key=lambda item: item[0].startswith("D"))  # channels, then DMs
        for _, channel in ordered:
            out += ["", channel.name, "─" * min(len(channel.name), WIDTH)]
            for message in channel.messages:
                out += self._message(message)
        out += self.phone()
        if self.t.board:
            out += ["", f"Web board: {self.t.board}",
                    f"  (it answered {self.t.board_status} during the demo; the bot stops with the demo: "
                    "`.venv/bin/python -m demo --keep` keeps it running to open the link)"]
        return "\n".join(out).strip("\n") + "\n"

    def _message(self, message: Message) -> list[str]:
        if not message.author:  # what a person did: pressed a button, filled in a form
            return [f"  {line}" for line in message.lines]
        if message.author != BOT:  # what a person typed (a slash command: nobody else sees it)
            return [f"  {message.author}: {line}" for line in message.lines]
        marks = [mark for mark, on in ((f"only visible to {self.person(message.only_for or '')}",
                                        bool(message.only_for)), ("📌 pinned", message.pinned and not message.edit_of),
                                       ("in a thread", bool(message.thread_of))) if on]
        if message.edit_of:
            head = f"  {BOT} edits its {'📌 pinned ' if message.pinned else ''}message “{_short(message.edit_of)}”:"
        else:
            head = f"  {BOT}" + (f" ({', '.join(marks)})" if marks else "") + ":"
        lines = [head]
        for line in message.lines:
            wrapped = textwrap.wrap(line, WIDTH - 6, subsequent_indent="  ", break_long_words=False,
                                    break_on_hyphens=False) if len(line) > WIDTH - 4 else [line]
            lines += [f"    {part}".rstrip() for part in wrapped or [""]]
        return lines

    # -- beyond Slack ----------------------------------------------------------------------------------------

    def phone(self) -> list[str]:
        """What reached the phone (each push: its title, then its text), and the link opened, then pressed."""
        if not self.t.phone:
            return []
        owner = self.t.people.get(OWNER, OWNER)
        title = f"{owner}'s phone (push notifications beyond Slack, through Apprise to an ntfy-shaped receiver)"
        out = ["", title, "─" * min(len(title), WIDTH)]
        for event in self.t.phone:
            out += [f"  {line}" for line in self._phone_event(owner, event)]
        return out

    def _phone_event(self, owner: str, event: PhoneEvent) -> list[str]:
        if event.kind == "push":
            how = f"priority {event.priority}, " if event.priority else ""
            lines = [f"📱 push ({how}topic {event.topic}): {event.title}"]
            body = [_short_links(line) for line in event.text.splitlines()]
        elif event.kind == "opened":
            lines = [f"{owner} taps the link: GET {_short_links(event.url)} → {event.status}"]
            body = [*event.page_lines(), *([f"[{event.button}]"] if event.button else [])]
            body += [f"({event.note})"] if event.note else []
        else:
            lines = [f"{owner} presses [{event.button}]: POST {_short_links(event.url)} → {event.status}"]
            body = event.page_lines()
        for line in body:
            lines += textwrap.wrap(line, WIDTH - 6, initial_indent="  ", subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False) or [""]
        return lines


def _short_links(text: str) -> str:
    """An acknowledge link's token is long and means nothing to a reader: its first characters stand for it."""
    return re.sub(r"(/ack/)([\w.-]{12})[\w.-]+", r"\1\2…", text)


def _short(line: str, limit: int = 48) -> str:
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def _button(element: dict) -> str:
    return f"[{element['text']['text']}]"


def render(transcript: Transcript) -> str:
    return Renderer(transcript).render()
