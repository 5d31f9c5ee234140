"""The access list (``access.access_list``): parsing, the messy entries a lead may write, and
an atomic save that cannot lock the practice out."""

from __future__ import annotations

from pathlib import Path

import pytest

from access import access_list
from access.scope import Scope

GOOD = """
[[user]]
email = "Lead@Practice.example "
role = "lead"

[[user]]
email = "sam@practice.example"
role = "Supervisor"
teams = ["North", "South"]

[[user]]
email = "alex@practice.example"
role = "therapist"
therapist_id = "T01"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "access.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_users_roles_and_scopes(tmp_path):
    users = access_list.load(write(tmp_path, GOOD))
    assert [u.email for u in users] == ["lead@practice.example", "sam@practice.example", "alex@practice.example"]
    assert users[0].scope == Scope.everything()
    assert users[1].scope == Scope("supervisor", ("North", "South"))
    assert users[2].scope == Scope("therapist", therapist_id="T01")


@pytest.mark.parametrize("email, found", [
    ("ALEX@practice.example", "alex@practice.example"),
    ("  alex@practice.example ", "alex@practice.example"),
    ("alex@practice.example.evil", None),
    ("", None),
    (None, None),
])
def test_lookup_ignores_case_and_spaces_only(tmp_path, email, found):
    u = access_list.lookup(access_list.load(write(tmp_path, GOOD)), email)
    assert (u.email if u else None) == found


@pytest.mark.parametrize("entry, message", [
    ('email = "x@p.example"\nrole = "admin"', "role must be one of"),
    ('email = "not-an-email"\nrole = "lead"', "is not an email address"),
    ('email = "x@p.example"\nrole = "supervisor"', "needs at least one team"),
    ('email = "x@p.example"\nrole = "therapist"', "needs a therapist id"),
    ('email = "x@p.example"\nrole = "therapist"\ntherapist_id = "T1"\nteam = "North"', "unknown key"),
    ('email = "x@p.example"\nrole = "supervisor"\nteams = 3', "teams must be a list"),
], ids=["role", "email", "supervisor-no-team", "therapist-no-id", "typo-key", "teams-not-list"])
def test_bad_entries_are_named(tmp_path, entry, message):
    p = write(tmp_path, GOOD + "\n[[user]]\n" + entry + "\n")
    with pytest.raises(access_list.AccessError, match=message) as exc:
        access_list.load(p)
    assert str(p) in str(exc.value) and "user 4" in str(exc.value)


def test_duplicate_email_is_refused(tmp_path):
    p = write(tmp_path, GOOD + '\n[[user]]\nemail = "ALEX@practice.example"\nrole = "lead"\n')
    with pytest.raises(access_list.AccessError, match="listed twice"):
        access_list.load(p)


@pytest.mark.parametrize("text, message", [
    (None, "no access file"),
    ("[[user]\nemail=", "Expected"),
    ("user = 3", "expected \\[\\[user\\]\\] tables"),
])
def test_missing_or_broken_file(tmp_path, text, message):
    p = tmp_path / "access.toml"
    if text is not None:
        p.write_text(text, encoding="utf-8")
    with pytest.raises(access_list.AccessError, match=message):
        access_list.load(p)


def test_save_round_trips_and_keeps_odd_characters(tmp_path):
    users = access_list.load(write(tmp_path, GOOD))
    odd = access_list.User("o'neil@practice.example", "supervisor", ('Team "Quotes" \\ back',))
    p = access_list.save([*users, odd], tmp_path / "out" / "access.toml")
    again = access_list.load(p)
    assert again == [*users, odd]
    assert not list(p.parent.glob("*.tmp"))


def test_save_refuses_a_list_without_a_lead(tmp_path):
    p = write(tmp_path, GOOD)
    users = [u for u in access_list.load(p) if u.role != "lead"]
    with pytest.raises(access_list.AccessError, match="at least one clinical lead"):
        access_list.save(users, p)
    assert p.read_text(encoding="utf-8") == GOOD  # unchanged


def test_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_ACCESS", str(tmp_path / "a.toml"))
    assert access_list.access_path() == tmp_path / "a.toml"


@pytest.mark.parametrize("rows, entries, problems", [
    ([{"email": "a@p.example", "role": "lead"}], 1, []),
    ([{"email": "a@p.example", "role": None}], 0, ["row 1: needs both an email and a role"]),
    ([{"email": None, "role": None, "teams": [], "therapist_id": None}, {"email": "", "role": "lead"}], 0,
     ["row 2: needs both an email and a role"]),
    ([{"email": "s@p.example", "role": "supervisor", "teams": "North, South"}], 1, []),
], ids=["ok", "no-role", "empty-row-skipped", "teams-as-text"])
def test_table_rows(rows, entries, problems):
    got, probs = access_list.table_rows(rows)
    assert len(got) == entries and probs == problems


def test_unknown_teams_and_ids_are_named_with_the_near_miss():
    entries, _ = access_list.table_rows([{"email": "a@p.example", "role": "lead"},
                                         {"email": "s@p.example", "role": "supervisor", "teams": ["north", "East"],
                                          "therapist_id": "t01"}])
    warnings = access_list.unknown_values(entries, ["North", "East"], {"T01", "T02"})
    assert warnings == ["row 2: team `north` is not in the loaded data, so it shows no children (did you mean "
                        "`North`?)", "row 2: therapist id `t01` is not in the loaded data (did you mean `T01`?)"]
