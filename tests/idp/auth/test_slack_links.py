"""Slack identity links on the real database: one-time codes (hashed, single use, short-lived),
links by confirmed e-mail, and short-lived platform tokens for the linked user only."""

from __future__ import annotations

import hashlib

import pytest

from idp.auth import slack_links
from idp.auth.keys import KeySet, generate_key
from idp.auth.slack_links import SlackLink
from idp.auth.tokens import verify_token
from idp.auth.users import record_sign_in
from idp.clients.oidc import OidcIdentity
from idp.config import Settings
from idp.db import Database
from idp.errors import InvalidInput, NotFound

ALICE = "alice@example.com"
BOB = "bob@example.com"
TEAM = "T0001"
SETTINGS = Settings(jwt_issuer="idp", jwt_audience="idp-api", platform_admins=[BOB])
INVALID = "link code is invalid or has expired; run `idp link` again"


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet(current=generate_key())


def _sign_in(db: Database, email: str, name: str | None = None) -> str:
    identity = OidcIdentity(
        subject=f"oidc|{email}", email=email, email_verified=True, name=name, issuer="https://issuer", claims={}
    )
    user, _ = record_sign_in(db, identity)
    return user.id


@pytest.fixture
def alice(db: Database) -> str:
    return _sign_in(db, ALICE, "Alice Liddell")


@pytest.fixture
def bob(db: Database) -> str:
    return _sign_in(db, BOB, "Bob")


def _link(db: Database, code: str, slack_user: str = "U1") -> SlackLink:
    return slack_links.link_by_code(db, team_id=TEAM, slack_user_id=slack_user, code=code)


def _refused_code(db: Database, code: str, slack_user: str = "U1") -> None:
    with pytest.raises(InvalidInput) as caught:
        _link(db, code, slack_user)
    assert caught.value.message == INVALID


def _expire_all(db: Database) -> None:
    db.run("UPDATE slack_link_codes SET expires_at = now() - interval '1 second'")


# --------------------------------------------------------------------------- codes


def test_a_code_is_short_typable_and_stored_only_hashed(db: Database, alice: str) -> None:
    issued = slack_links.issue_link_code(db, alice)
    code = issued.code
    assert len(code) == 8 and set(code) <= set(slack_links.CODE_ALPHABET)
    assert not set(code) & set("01ILOU")
    (row,) = db.rows(
        "SELECT code_hash, user_id, used_at, expires_at - created_at AS ttl, expires_at FROM slack_link_codes"
    )
    assert row["code_hash"] == hashlib.sha256(code.encode()).hexdigest()
    assert row["user_id"] == alice and row["used_at"] is None
    assert row["ttl"].total_seconds() == 600 and row["expires_at"] == issued.expires_at
    assert code not in str(db.rows("SELECT * FROM slack_link_codes"))


def test_codes_differ_and_at_most_a_few_stay_live(db: Database, alice: str) -> None:
    codes = [slack_links.create_link_code(db, alice) for _ in range(5)]
    assert len(set(codes)) == 5
    live = db.rows("SELECT code_hash FROM slack_link_codes WHERE user_id = :u", u=alice)
    assert len(live) == slack_links.MAX_LIVE_CODES == 3
    for old in codes[:2]:
        _refused_code(db, old)
    assert _link(db, codes[-1]).user_id == alice


def test_a_code_needs_a_user_who_signed_in(db: Database) -> None:
    with pytest.raises(NotFound) as caught:
        slack_links.create_link_code(db, "nobody@example.com")
    assert caught.value.code == "user_not_found" and "idp login" in caught.value.message


def test_link_by_code_links_once(db: Database, alice: str) -> None:
    code = slack_links.create_link_code(db, alice)
    link = _link(db, code)
    assert (link.slack_team_id, link.slack_user_id, link.user_id, link.linked_via) == (TEAM, "U1", alice, "code")
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U1") == alice
    _refused_code(db, code, "U2")  # single use
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U2") is None


def test_codes_are_typed_loosely(db: Database, alice: str) -> None:
    code = slack_links.create_link_code(db, alice)
    typed = f" {code[:4].lower()}-{code[4:].lower()} "
    assert _link(db, typed).user_id == alice


@pytest.mark.parametrize("code", ["", "ABCDEFGH", "ABC", "ABCDEFGHJK", "ABCD0FGH", "x" * 10_000])
def test_unknown_or_malformed_codes_are_refused(db: Database, alice: str, code: str) -> None:
    slack_links.create_link_code(db, alice)
    _refused_code(db, code)


def test_an_expired_code_is_refused(db: Database, alice: str) -> None:
    code = slack_links.create_link_code(db, alice)
    _expire_all(db)
    _refused_code(db, code)
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U1") is None


def test_expired_codes_are_cleared_on_the_next_request(db: Database, alice: str) -> None:
    slack_links.create_link_code(db, alice)
    _expire_all(db)
    slack_links.create_link_code(db, alice)
    assert db.run("SELECT count(*) FROM slack_link_codes")[0][0] == 1


def test_relinking_replaces_the_link(db: Database, alice: str, bob: str) -> None:
    _link(db, slack_links.create_link_code(db, alice))
    again = _link(db, slack_links.create_link_code(db, bob))
    assert again.user_id == bob and again.linked_via == "code"
    assert db.rows("SELECT user_id FROM slack_links") == [{"user_id": bob}]


def test_slack_ids_are_required(db: Database, alice: str) -> None:
    with pytest.raises(InvalidInput):
        slack_links.link_by_code(db, team_id="", slack_user_id="U1", code=slack_links.create_link_code(db, alice))


def test_the_same_slack_user_id_in_another_workspace_is_another_user(db: Database, alice: str) -> None:
    _link(db, slack_links.create_link_code(db, alice))
    assert slack_links.linked_user(db, team_id="T0002", slack_user_id="U1") is None


# -------------------------------------------------------------------------- e-mail


def test_link_by_confirmed_email(db: Database, alice: str) -> None:
    link = slack_links.link_by_verified_email(
        db, team_id=TEAM, slack_user_id="U1", email="Alice@Example.com", email_verified=True
    )
    assert link is not None and link.user_id == alice and link.linked_via == "email"
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U1") == alice


def test_an_unconfirmed_email_links_nothing(db: Database, alice: str) -> None:
    assert (
        slack_links.link_by_verified_email(db, team_id=TEAM, slack_user_id="U1", email=ALICE, email_verified=False)
        is None
    )
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U1") is None


def test_an_unknown_or_missing_email_links_nothing(db: Database, alice: str) -> None:
    for email in ("carol@example.com", "", None):
        assert (
            slack_links.link_by_verified_email(db, team_id=TEAM, slack_user_id="U1", email=email, email_verified=True)
            is None
        )
    assert db.rows("SELECT * FROM slack_links") == []


def test_an_email_shared_by_two_users_links_nothing(db: Database, alice: str, bob: str) -> None:
    db.run("UPDATE users SET email = :email WHERE id = :id", email=ALICE, id=bob)
    assert (
        slack_links.link_by_verified_email(db, team_id=TEAM, slack_user_id="U1", email=ALICE, email_verified=True)
        is None
    )


def test_an_email_match_keeps_an_existing_link(db: Database, alice: str, bob: str) -> None:
    _link(db, slack_links.create_link_code(db, bob))
    kept = slack_links.link_by_verified_email(db, team_id=TEAM, slack_user_id="U1", email=ALICE, email_verified=True)
    assert kept is not None and kept.user_id == bob and kept.linked_via == "code"


# ----------------------------------------------------------------------- unlinking


def test_unlink(db: Database, alice: str) -> None:
    _link(db, slack_links.create_link_code(db, alice))
    assert slack_links.unlink(db, team_id=TEAM, slack_user_id="U1") is True
    assert slack_links.linked_user(db, team_id=TEAM, slack_user_id="U1") is None
    assert slack_links.unlink(db, team_id=TEAM, slack_user_id="U1") is False


# -------------------------------------------------------------------------- tokens


def test_the_token_speaks_for_the_linked_user(db: Database, alice: str, keyset: KeySet) -> None:
    _link(db, slack_links.create_link_code(db, alice))
    issued = slack_links.platform_token_for_slack_user(db, SETTINGS, team_id=TEAM, slack_user_id="U1", keyset=keyset)
    claims = verify_token(SETTINGS, issued.token, keyset=keyset)
    assert (claims.sub, claims.email, claims.name, claims.kind) == (alice, ALICE, "Alice Liddell", "user")
    assert claims.platform_admin is False
    assert claims.exp - claims.iat == 300
    assert issued.user_id == alice and int(issued.expires_at.timestamp()) <= claims.exp


def test_the_token_carries_platform_admin_only_for_admins(db: Database, bob: str, keyset: KeySet) -> None:
    _link(db, slack_links.create_link_code(db, bob), "U9")
    issued = slack_links.platform_token_for_slack_user(
        db, SETTINGS, team_id=TEAM, slack_user_id="U9", ttl_seconds=60, keyset=keyset
    )
    claims = verify_token(SETTINGS, issued.token, keyset=keyset)
    assert claims.sub == bob and claims.platform_admin is True and claims.exp - claims.iat == 60


def test_no_token_for_an_unlinked_slack_user(db: Database, alice: str, keyset: KeySet) -> None:
    with pytest.raises(NotFound) as caught:
        slack_links.platform_token_for_slack_user(db, SETTINGS, team_id=TEAM, slack_user_id="U1", keyset=keyset)
    assert caught.value.code == "slack_not_linked"
    assert caught.value.message == (
        "your Slack account is not linked to the platform; run `idp link` and then `/idp link <code>`"
    )
    _link(db, slack_links.create_link_code(db, alice))
    slack_links.unlink(db, team_id=TEAM, slack_user_id="U1")
    with pytest.raises(NotFound):
        slack_links.platform_token_for_slack_user(db, SETTINGS, team_id=TEAM, slack_user_id="U1", keyset=keyset)
