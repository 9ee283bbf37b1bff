"""The ``filter`` language (pipelines/filtering.py) on its own: no database, no requests.

Filters are AIP-160 expressions as Instill's tests and protos write them; one tree
answers both as a Django ``Q`` and as a predicate over items in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.db.models import Q

from pipelines.errors import InvalidArgument
from pipelines.filtering import AllOf, AnyOf, Comparison, Field, Not, Search, compile_filter, parse


@dataclass
class Item:
    id: str
    title: str
    kind: str
    created: datetime
    runs: int
    tasks: tuple[str, ...]


FIELDS = {
    "q": Field("fuzzy", ("slug", "description"), get=lambda i: [i.id, i.title]),
    "id": Field("string", ("slug",), get=lambda i: i.id),
    "kind": Field("enum", ("kind",), choices=("KIND_A", "KIND_B"), get=lambda i: i.kind),
    "createTime": Field("timestamp", ("create_time",), get=lambda i: i.created),
    "numberOfRuns": Field("int", ("runs",), get=lambda i: i.runs),
    "tasks": Field("repeated", ("tasks",), get=lambda i: i.tasks),
    "featured": Field("bool", ("featured",), get=lambda i: i.runs > 5),
}
ITEMS = [
    Item("alpha", "First Chat", "KIND_A", datetime(2020, 1, 1, tzinfo=UTC), 0, ("TASK_JQ",)),
    Item("beta", "Second", "KIND_B", datetime(2024, 6, 1, tzinfo=UTC), 7, ("TASK_X", "TASK_JQ")),
    Item("gamma-chat", "Third", "KIND_A", datetime(2025, 1, 1, tzinfo=UTC), 3, ()),
]


def kept(text: str) -> list[str]:
    found = compile_filter(text, FIELDS, search="q")
    return [i.id for i in ITEMS if found.matches(i)]


def test_instills_own_examples_parse():
    """The filters in Instill's integration tests and proto docs read as comparisons."""
    created = parse('createTime>timestamp("2000-06-19T23:31:08.657Z")')
    assert isinstance(created, Comparison) and created.operator == ">"
    assert created.value.value == datetime(2000, 6, 19, 23, 31, 8, 657000, tzinfo=UTC)
    assert parse('tasks:"TASK_TEXT_GENERATION"') == Comparison(
        "tasks", ":", parse('tasks:"TASK_TEXT_GENERATION"').value, 1
    )
    both = parse("qConnection=\"x\" AND integrationId='openai'")
    assert isinstance(both, AllOf) and [p.name for p in both.parts] == ["qConnection", "integrationId"]
    assert parse("visibility=VISIBILITY_PUBLIC").value.kind == "word"


def test_precedence_is_aip_160s():
    """OR binds tighter than AND and than terms side by side; NOT and - negate one term."""
    tree = parse("a=1 OR b=2 c=3 AND NOT d=4")
    assert isinstance(tree, AllOf) and [type(p) for p in tree.parts] == [AnyOf, Comparison, Not]
    assert [c.name for c in tree.parts[0].parts] == ["a", "b"]
    assert isinstance(parse("-(a=1)"), Not)
    assert isinstance(parse("hello"), Search)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["alpha", "beta", "gamma-chat"]),
        ('createTime>timestamp("2021-01-01T00:00:00Z")', ["beta", "gamma-chat"]),
        ('createTime<="2020-01-01T00:00:00Z"', ["alpha"]),
        ("createTime<time.now()", ["alpha", "beta", "gamma-chat"]),
        ('q="chat"', ["alpha", "gamma-chat"]),
        ("chat", ["alpha", "gamma-chat"]),
        ('"second"', ["beta"]),
        ("kind=KIND_A AND numberOfRuns>0", ["gamma-chat"]),
        ('kind="KIND_B" OR id="alpha"', ["alpha", "beta"]),
        ("NOT kind=KIND_A", ["beta"]),
        ("-kind=KIND_A", ["beta"]),
        ("kind!=KIND_A", ["beta"]),
        ('(id="alpha" OR id="beta") numberOfRuns>=7', ["beta"]),
        ('id="gam*"', ["gamma-chat"]),
        ('id="*ta"', ["beta"]),
        ('id:"MM"', ["gamma-chat"]),
        ('tasks:"TASK_JQ"', ["alpha", "beta"]),
        ("featured=true", ["beta"]),
        ("number_of_runs=3", ["gamma-chat"]),
        ("create_time>timestamp('2024-01-01T00:00:00+00:00')", ["beta", "gamma-chat"]),
    ],
)
def test_filters_keep_what_they_say(text, expected):
    assert kept(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('qTitle="json" AND', "filter cannot be parsed at column 18: it ends too early; expected a field name"),
        ("id=", "filter cannot be parsed at column 4: it ends too early"),
        ('(id="a"', 'filter cannot be parsed at column 8: it ends too early; expected AND, ")"'),
        ('id="a")', 'filter cannot be parsed at column 7: ")" closes no "("'),
        ("id==1", 'filter cannot be parsed at column 4: "=" is not expected here'),
        ("id=$", 'filter cannot be parsed at column 4: "$" is not allowed here'),
        ('id="open', 'filter cannot be parsed at column 4: the quote " is never closed'),
        ("AND id=1", 'filter cannot be parsed at column 1: "AND" is not expected here'),
        ("createTime>now()", 'column 12: unknown function "now"'),
        ('createTime>timestamp("yesterday")', 'column 22: timestamp("yesterday") is not an RFC 3339 time'),
        ('colour="red"', "filter cannot use 'colour' (column 1); the fields it can use: q, id, kind,"),
        ('createTime>"soon"', 'filter: createTime (column 12) takes a time: timestamp("2000-06-19T23:31:08.657Z")'),
        ("kind=KIND_Z", 'filter: kind (column 6) takes one of KIND_A, KIND_B, not "KIND_Z"'),
        ("kind>KIND_A", "filter: kind (column 1) takes = or !=, not >"),
        ('numberOfRuns>"many"', "filter: numberOfRuns (column 14) takes a whole number"),
        ("featured=maybe", "filter: featured (column 10) takes true or false"),
        ('tasks="TASK_JQ"', "filter: tasks (column 1) takes :, not ="),
        ("id=a.b", 'column 4: "a.b" is not a value; quote it'),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_problem_and_where(text, message):
    with pytest.raises(InvalidArgument) as caught:
        compile_filter(text, FIELDS, search="q")
    assert caught.value.http_status == 400 and caught.value.field == "filter"
    assert message in caught.value.message


def test_a_bare_word_needs_a_search_field():
    with pytest.raises(InvalidArgument, match="is not a comparison; write field=value"):
        compile_filter("chat", {"id": FIELDS["id"]})


def test_the_same_tree_is_a_django_q():
    """The database form says what the in-memory one does."""
    found = compile_filter('q="chat" AND (kind=KIND_A OR -numberOfRuns<3) id!="x*"', FIELDS, search="q")
    assert found.q() == Q(
        Q(Q(slug__icontains="chat"), Q(description__icontains="chat"), _connector=Q.OR),
        Q(Q(kind="KIND_A"), ~Q(runs__lt=3), _connector=Q.OR),
        ~Q(slug__startswith="x"),
    )
    assert compile_filter("", FIELDS).q() == Q()


def test_long_filters_stay_flat_and_huge_ones_are_refused():
    """A hundred terms make one flat AND (no recursion per term, no SQL nested as
    deep); more comparisons, or parentheses nested past 20, are a 400."""
    hundred = " AND ".join(f'id="i{n}"' for n in range(100))
    tree = parse(hundred)
    assert isinstance(tree, AllOf) and len(tree.parts) == 100
    ors = parse(" OR ".join(f"numberOfRuns={n}" for n in range(100)))
    assert isinstance(ors, AnyOf) and len(ors.parts) == 100
    with pytest.raises(InvalidArgument, match="at most 100 comparisons"):
        parse(hundred + ' AND id="one more"')
    assert isinstance(parse("(" * 20 + "id=1" + ")" * 20), Comparison)
    with pytest.raises(InvalidArgument, match="column 21: parentheses nest more than 20 deep"):
        parse("(" * 21 + "id=1" + ")" * 21)
    with pytest.raises(InvalidArgument, match=r"numberOfRuns \(column 14\) takes a whole number"):
        compile_filter("numberOfRuns=" + "9" * 30, FIELDS)
