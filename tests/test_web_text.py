"""Pure rules behind the web board: stored Slack text as HTML, people by name, where a card stands on targets."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.db.models import Person
from bot.domain.business_hours import WorkingTime
from bot.domain.incident import Priority, Status
from bot.domain.reminders import IncidentFacts, Policy
from bot.domain.targets import missing, standings
from bot.http.web_text import mentioned, name_of, person, slack_to_html

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday
PEOPLE = {"U0ANA": Person(user_id="U0ANA", name="Ana <Ops>", avatar="https://a.example/x.png", fetched_at=NOW)}


def test_mentions_links_and_entities_become_text_and_everything_else_is_escaped():
    assert slack_to_html("paged <@U0ANA> (primary)", PEOPLE) == \
        'paged <span class="mention">@Ana &lt;Ops&gt;</span> (primary)'
    assert slack_to_html("ask <@U0BO|bo> in <#C1|ops> <!here>", PEOPLE) == \
        ('ask <span class="mention">@bo</span> in <span class="mention">#ops</span> '
         '<span class="mention">@here</span>')
    assert slack_to_html("<https://x.example/?a=1&amp;b=2|dash> &lt;b&gt;", {}) == \
        '<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer">dash</a> &lt;b&gt;'
    assert slack_to_html("<script>x</script> a < b", {}) == "&lt;script&gt;x&lt;/script&gt; a &lt; b"
    assert slack_to_html('<javascript:alert(1)|x> <https://e.example/"onmouseover=x|y>', {}) == \
        '&lt;javascript:alert(1)|x&gt; y'
    assert mentioned(["<@U0ANA> and <@W0B|b>", None]) == {"U0ANA", "W0B"}


def test_people_by_name_with_their_picture_else_a_neutral_label_never_their_id():
    assert name_of("U0ANA", PEOPLE) == "Ana <Ops>" and name_of("U0X", PEOPLE) == "a teammate"
    assert str(person("U0ANA", PEOPLE)) == ('<span class="person" title="U0ANA"><img class="avatar" '
                                             'src="https://a.example/x.png" alt="" width="20" height="20" '
                                             'loading="lazy">Ana &lt;Ops&gt;</span>')
    assert "nobody" in str(person(None, PEOPLE))
    assert str(person("U0X", PEOPLE)) == '<span class="person">a teammate</span>'
    assert slack_to_html("ask <@U0X>", PEOPLE) == 'ask <span class="mention">@a teammate</span>'


POLICY = Policy(p0_update_interval=timedelta(hours=1), p0_renag_interval=timedelta(minutes=30),
                p1_resolution_target=timedelta(hours=8), triage_target=timedelta(hours=4),
                hours=WorkingTime(time(9), time(17), frozenset(range(5))), team_tz=UTC)


def facts(priority: Priority, status: Status = Status.NEW, created: datetime = NOW,
          update: datetime | None = None) -> IncidentFacts:
    return IncidentFacts(1, priority, status, created, update, created if priority is Priority.P0 else None, None)


def test_targets_by_the_reminders_rules():
    p1 = standings(facts(Priority.P1), NOW + timedelta(hours=1), POLICY)
    assert [(s.what, s.text, s.state) for s in p1] == [("triage", "triage due in 3h", "ok"),
                                                       ("P1 target", "P1 target due in 23h", "ok")]
    friday = datetime(2026, 11, 27, 16, tzinfo=UTC)  # 1 business hour left on Friday: due Monday 12:00
    (triage, _) = standings(facts(Priority.P1, created=friday), friday, POLICY)
    assert triage.due_at == datetime(2026, 11, 30, 12, tzinfo=UTC)
    p0 = standings(facts(Priority.P0, Status.IN_PROGRESS, update=NOW), NOW + timedelta(minutes=75), POLICY)
    assert [(s.text, s.state) for s in p0] == [("update late by 15m", "late")] and missing(p0)
    new_p0 = standings(facts(Priority.P0), NOW + timedelta(minutes=40), POLICY)
    assert [(s.text, s.state) for s in new_p0] == [("triage missed by 10m", "missed"), ("update due in 20m", "ok")]
    assert standings(facts(Priority.P2), NOW, POLICY) == []
    assert standings(facts(Priority.P1, Status.RESOLVED), NOW, POLICY) == []
    assert not missing(p1)
