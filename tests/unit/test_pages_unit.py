"""The pages' pure parts: how times and keys are said, the run graph's layout, the score chart, the board's order."""

from datetime import UTC, datetime, timedelta

import pytest

from api.pages.format import countdown, evidence, field_input, humane, label, money, span, whole, words
from api.pages.svg import GAP_X, NODE_H, NODE_W, dependency_graph, layers_of, score_chart, wrap
from api.pages.web import safe_next
from models.plays import RunStep, StepStatus
from models.scoring import RiskTier, ScorePoint
from plays import load_library

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("delta, said", [
    (timedelta(hours=2, minutes=13, seconds=40), "2h 13m left"),
    (timedelta(hours=3), "3h left"),
    (timedelta(days=2, hours=4), "2d 4h left"),
    (timedelta(minutes=13), "13m left"),
    (timedelta(seconds=45), "45s left"),
    (-timedelta(hours=3), "overdue by 3h"),
    (-timedelta(days=1, minutes=5), "overdue by 1d"),
])
def test_countdowns_read_as_time_left_or_overdue(delta, said):
    assert countdown(NOW + delta, NOW) == said


def test_keys_amounts_and_timestamps_read_as_words():
    assert words("nps_decline") == "NPS decline" and words("csm_lead") == "CSM lead" and words("revops") == "RevOps"
    assert label("csm_escalation") == "CSM escalation" and words(None) == ""
    assert money(180_000) == "$180K" and money(1_500_000) == "$1.5M" and money(950) == "$950"
    assert whole(24.5) == "25" and whole(-12.5) == "-13" and span(90) == "1m"
    assert humane("ready for lee, due 2026-11-27T15:57:13.295267+00:00") == "ready for lee, due Nov 27 15:57 UTC"
    # what detection measured stays in the API; a person reads the score's own sentence (`why`) instead
    assert evidence({"event_ids": ["e1"], "measured": {"nps_drop": 5.0}, "inactive_days": 21}) == [("Inactive days", "21")]


def test_a_step_field_gets_an_input_that_fits_it():
    assert field_input("meeting_date") == "date" and field_input("save_cost") == "number"
    assert field_input("plan_summary") == "textarea" and field_input("sponsor_name") == "text"


def test_only_local_paths_are_followed_after_sign_in():
    assert safe_next("/board?play=renewal_save") == "/board?play=renewal_save"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil", "", None):
        assert safe_next(bad) == "/inbox"


def test_titles_wrap_onto_two_lines_and_say_what_is_cut():
    assert wrap("Diagnose the risk: usage, champion, tickets, sentiment") == [
        "Diagnose the risk: usage,", "champion, tickets, sentiment"]
    long = wrap("one two three four five six seven eight nine ten eleven twelve thirteen fourteen", width=20)
    assert len(long) == 2 and long[-1].endswith("…") and all(len(line) <= 20 for line in long)


def run_steps(play_key: str, done: tuple[str, ...] = ()) -> list[RunStep]:
    play = load_library()[play_key]
    return [RunStep(key=s.key, title=s.title, owner_id="casey", depends_on=s.depends_on,
                    status=StepStatus.done if s.key in done else StepStatus.blocked) for s in play.steps]


def boxes_overlap(a, b) -> bool:
    return a.x < b.x + NODE_W and b.x < a.x + NODE_W and a.y < b.y + NODE_H and b.y < a.y + NODE_H


@pytest.mark.parametrize("play_key", sorted(load_library()))
def test_every_play_draws_as_columns_by_dependency_without_overlaps(play_key):
    steps = run_steps(play_key)
    graph = dependency_graph(steps, {}, NOW)
    layer = layers_of(steps)
    nodes = {n.key: n for n in graph.nodes}
    assert set(nodes) == {s.key for s in steps}
    for step in steps:
        assert nodes[step.key].x == 12 + layer[step.key] * (NODE_W + GAP_X)
        for dep in step.depends_on:
            assert layer[dep] < layer[step.key]
    pairs = [(a, b) for i, a in enumerate(graph.nodes) for b in graph.nodes[i + 1:]]
    assert not any(boxes_overlap(a, b) for a, b in pairs)
    assert len(graph.edges) == sum(len(s.depends_on) for s in steps)
    assert all(0 <= n.x and n.x + NODE_W <= graph.width and 0 <= n.y and n.y + NODE_H <= graph.height for n in graph.nodes)


def test_an_edge_that_skips_a_column_runs_through_its_own_slot_not_through_a_step():
    graph = dependency_graph(run_steps("renewal_save", done=("diagnose",)), {"casey": "Casey Chen"}, NOW)
    nodes = {n.key: n for n in graph.nodes}
    offer, sponsor = nodes["commercial_offer"], nodes["exec_sponsor"]
    long_edge = next(e for e in graph.edges if (e.source, e.target) == ("exec_sponsor", "renewal_decision"))
    column_2 = offer.x
    # the edge crosses column 2 as a straight line at one height, clear of the commercial offer's box
    crossing = [part for part in long_edge.path.split() if part.startswith("L")]
    assert len(crossing) == 1
    x, y = (float(v) for v in crossing[0][1:].split(","))
    assert x == column_2 + NODE_W and not offer.y <= y <= offer.y + NODE_H
    assert y == sponsor.y + NODE_H / 2
    assert next(e for e in graph.edges if e.source == "diagnose").done
    assert nodes["renewal_decision"].note == "waits on exec sponsor, commercial offer"
    assert nodes["diagnose"].note.startswith("done by")


def test_the_score_chart_spans_the_history_and_a_single_point_still_shows():
    def point(days, health, risk):
        return ScorePoint(as_of=NOW + timedelta(days=days), computed_at=NOW, weights_version=1, health=health,
                          renewal_risk=risk, risk_tier=RiskTier.low, forecast_confidence=50, pipeline_quality=100)

    chart = score_chart([point(0, 72, 25), point(7, 25, 76)])
    health = chart.series[0]
    first, last = (tuple(map(float, p.split(","))) for p in health.points.split()[::len(health.points.split()) - 1])
    assert first[0] == chart.left and last[0] == chart.left + chart.plot_w
    assert first[1] < last[1]  # health fell: the line goes down the page
    single = score_chart([point(0, 50, 50)])
    assert len(single.dots) == 2 and single.dots[0][1] == single.left + single.plot_w / 2
