"""The email component against real mail servers started by the tests
(tests/components/mail_servers.py): aiosmtpd for SMTP (STARTTLS, and TLS from the first
byte) and Debian's Dovecot for IMAP (TLS, and STARTTLS), each with a self-signed
certificate the test makes and trusts through SSL_CERT_FILE."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.email import COMPONENT
from pipelines.engine import RecipeInvalid, execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.connections import packed
from tests.components.conftest import run_task
from tests.components.mail_servers import (
    PASSWORD,
    USER,
    Dovecot,
    dovecot_available,
    make_certificate,
    start_dovecot,
    start_smtp,
)
from tests.components.test_platform_keys import everything_handed_out

ALLOW = {"http_allowed_hosts": ["localhost"], "http_timeout": 10}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Any, Any]:
    return make_certificate(tmp_path_factory.mktemp("mail-cert"))


@pytest.fixture
def trusted(certificate, monkeypatch):
    """Clients trust the test's self-signed certificate (and nothing else)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture(scope="module")
def smtp_starttls(certificate) -> Iterator[Any]:
    server = start_smtp(*certificate, implicit_tls=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smtps(certificate) -> Iterator[Any]:
    server = start_smtp(*certificate, implicit_tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dovecot(certificate) -> Iterator[Dovecot]:
    if not dovecot_available():
        pytest.fail("dovecot-imapd is not installed: run scripts/install-system-deps.sh")
    server = start_dovecot(certificate)
    for name, raw in MESSAGES.items():
        server.deliver(raw, name)
    yield server
    server.stop()


def setup(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "server-address": "localhost",
        "server-port": port,
        "email-address": USER,
        "password": PASSWORD,
        **overrides,
    }


def mail(date: str, sender: str, to: str, subject: str, body: str) -> bytes:
    return (
        f"Date: {date}\r\nFrom: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


MESSAGES = {
    "a": mail(
        "Mon, 01 Jul 2024 09:30:00 +0000", "Bob <bob@example.com>", USER, "Quarterly report", "Numbers attached."
    ),
    "b": mail(
        "Tue, 02 Jul 2024 10:00:00 +0000", "carol@example.com", USER, "Lunch?", "Pizza at noon, the usual place."
    ),
    "c": (
        b"Date: Wed, 03 Jul 2024 11:15:00 +0200\r\nFrom: Bob <bob@example.com>\r\nTo: alice@example.com, "
        b"Dan <dan@example.com>\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9_and_report?=\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nVGhlIHLDqXN1bcOpIGlzIGF0dGFjaGVkLg==\r\n--XX\r\nContent-Type: text/html\r\n\r\n"
        b"<p>The r&eacute;sum&eacute; is attached.</p>\r\n--XX--\r\n"
    ),
}


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's email v0 (pkg/component/application/email/v0/config)."""
    assert COMPONENT.type == "email" and COMPONENT.kind == "application"
    assert set(COMPONENT.tasks) == {"TASK_SEND_EMAIL", "TASK_READ_EMAILS"}
    assert set(COMPONENT.setup_schema["properties"]) == {"server-address", "server-port", "email-address", "password"}
    send = COMPONENT.tasks["TASK_SEND_EMAIL"]
    assert set(send.input_schema["properties"]) == {"recipients", "cc", "bcc", "subject", "message"}
    assert send.input_schema["required"] == ["recipients", "message"]
    search = COMPONENT.tasks["TASK_READ_EMAILS"].input_schema["properties"]["search"]
    assert set(search["properties"]) == {
        "mailbox",
        "search-subject",
        "search-from",
        "search-to",
        "limit",
        "date",
        "search-email-message",
    }
    email_item = COMPONENT.tasks["TASK_READ_EMAILS"].output_schema["properties"]["emails"]["items"]
    assert set(email_item["properties"]) == {"date", "from", "to", "subject", "message"}
    assert COMPONENT.credential_fields == {"password"}
    assert default_registry().get("email") is COMPONENT


# --- sending ---------------------------------------------------------------------------


SEND = {
    "recipients": ["bob@example.com", "Carol <carol@example.com>"],
    "cc": ["dan@example.com"],
    "bcc": ["eve@example.com"],
    "subject": "Réunion à 10h",
    "message": "Bonjour,\nla réunion est à 10h.",
}


@pytest.mark.parametrize("server", ["smtp_starttls", "smtps"])
async def test_send_email_reaches_every_recipient_over_tls(request, server, trusted):
    """STARTTLS on a plain port and TLS from the first byte: the server sees our login,
    every recipient (Bcc too) in the envelope, and a UTF-8 message whose headers name
    To and Cc but not Bcc."""
    smtp = request.getfixturevalue(server)
    smtp.received.clear()
    out = await run_task(COMPONENT, "TASK_SEND_EMAIL", SEND, setup=setup(smtp.port), **ALLOW)
    assert out == {"result": "Email sent successfully"}
    (envelope,) = smtp.received
    assert envelope.mail_from == USER
    assert envelope.rcpt_tos == ["bob@example.com", "carol@example.com", "dan@example.com", "eve@example.com"]
    sent = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert sent["From"] == USER
    assert sent["To"] == "bob@example.com, Carol <carol@example.com>"
    assert sent["Cc"] == "dan@example.com" and sent["Bcc"] is None
    assert sent["Subject"] == "Réunion à 10h"
    assert sent.get_content().replace("\r\n", "\n").strip() == "Bonjour,\nla réunion est à 10h."
    assert (USER, PASSWORD) in smtp.logins


async def test_a_refused_login_names_the_account_not_the_password(smtp_starttls, trusted):
    with pytest.raises(ComponentError) as caught:
        await run_task(
            COMPONENT, "TASK_SEND_EMAIL", SEND, setup=setup(smtp_starttls.port, password="wrong-secret-42"), **ALLOW
        )
    message = str(caught.value)
    assert f"refused the login of {USER}" in message and "535" in message
    assert "wrong-secret-42" not in message


async def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(smtp_starttls, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    smtp_starttls.logins.clear()
    with pytest.raises(ComponentError, match=r"certificate of localhost:\d+ is not trusted"):
        await run_task(COMPONENT, "TASK_SEND_EMAIL", SEND, setup=setup(smtp_starttls.port), **ALLOW)
    assert smtp_starttls.logins == []


async def test_a_private_mail_server_is_refused_unless_allowed(smtp_starttls, trusted):
    """The outbound guard's address policy (docs/hardening.md): loopback is refused
    before any connection; PIPELINE_HTTP_ALLOWED_HOSTS admits it."""
    smtp_starttls.received.clear()
    with pytest.raises(ComponentError, match="loopback addresses are not allowed"):
        await run_task(COMPONENT, "TASK_SEND_EMAIL", SEND, setup=setup(smtp_starttls.port))
    assert smtp_starttls.received == []
    out = await run_task(
        COMPONENT,
        "TASK_SEND_EMAIL",
        SEND,
        setup=setup(smtp_starttls.port),
        http_allowed_hosts=[f"localhost:{smtp_starttls.port}"],
    )
    assert out["result"] == "Email sent successfully"


@pytest.mark.parametrize(
    ("input", "words"),
    [
        ({"message": "hi"}, "recipients must list at least one email address"),
        ({"recipients": ["not an address"], "message": "hi"}, "recipients[0] is not an email address"),
        (
            {"recipients": ["a@b.c"], "cc": ["x@y.z\r\nBcc: evil@example.com"], "message": "hi"},
            "cc[0] is not an email address",
        ),
        (
            {"recipients": ["a@b.c"], "subject": "hi\r\nBcc: evil@example.com", "message": "hi"},
            "subject must be a string on one line",
        ),
        ({"recipients": ["a@b.c"]}, "message is required"),
    ],
)
async def test_bad_input_is_an_error_naming_the_field(input, words):
    with pytest.raises(ComponentError) as caught:
        await run_task(COMPONENT, "TASK_SEND_EMAIL", input, setup=setup(25), **ALLOW)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"server-port": 70000}, "setup.server-port must be a port number"),
        ({"server-address": "smtp://mail.example.com"}, "setup.server-address must be a host name"),
        ({"password": ""}, "setup.password is required"),
    ],
)
async def test_bad_setup_is_an_error_naming_the_field(overrides, words):
    with pytest.raises(ComponentError) as caught:
        await run_task(COMPONENT, "TASK_SEND_EMAIL", SEND, setup=setup(25, **overrides), **ALLOW)
    assert words in str(caught.value)


# --- reading ---------------------------------------------------------------------------


async def read(dovecot: Dovecot, search: dict[str, Any], port: int | None = None) -> list[dict[str, Any]]:
    out = await run_task(
        COMPONENT, "TASK_READ_EMAILS", {"search": search}, setup=setup(port or dovecot.tls_port), **ALLOW
    )
    return out["emails"]


async def test_read_emails_answers_the_newest_first_as_instill_writes_them(dovecot, trusted):
    emails = await read(dovecot, {"mailbox": "INBOX"})
    assert [e["date"] for e in emails] == ["2024-07-03 11:15:00", "2024-07-02 10:00:00", "2024-07-01 09:30:00"]
    assert emails[0] == {
        "date": "2024-07-03 11:15:00",
        "from": '"Bob" <bob@example.com>',
        "to": ["<alice@example.com>", '"Dan" <dan@example.com>'],
        "subject": "Résumé and report",
        "message": "The résumé is attached.",  # the text part; the HTML one is left out
    }
    assert emails[1]["from"] == "<carol@example.com>"


async def test_read_emails_over_starttls(dovecot, trusted):
    emails = await read(dovecot, {"mailbox": "INBOX", "limit": 1}, port=dovecot.starttls_port)
    assert [e["subject"] for e in emails] == ["Résumé and report"]


@pytest.mark.parametrize(
    ("search", "subjects"),
    [
        ({"search-subject": "report"}, ["Résumé and report", "Quarterly report"]),
        ({"search-subject": "Résumé"}, ["Résumé and report"]),  # checked on the messages
        ({"search-from": "<bob@example.com>"}, ["Résumé and report", "Quarterly report"]),  # as Instill asks
        ({"search-from": "carol@example.com"}, ["Lunch?"]),
        ({"search-to": "<dan@example.com>"}, ["Résumé and report"]),
        ({"date": "2024-07-02"}, ["Lunch?"]),
        ({"date": "2024-07-01 09:30"}, ["Quarterly report"]),
        ({"search-email-message": "noon"}, ["Lunch?"]),
        ({"search-subject": "report", "limit": 1}, ["Résumé and report"]),
        ({"search-subject": "report", "search-from": "carol@example.com"}, []),
    ],
)
async def test_read_emails_search_criteria(dovecot, trusted, search, subjects):
    emails = await read(dovecot, {"mailbox": "INBOX", **search})
    assert [e["subject"] for e in emails] == subjects


async def test_reading_more_than_the_memory_bound_is_an_error_naming_the_limit(dovecot, trusted, monkeypatch):
    """Every email answered is held in memory and search.limit is unbounded: past
    MAX_READ_BYTES of messages the read stops, saying so (the newest one fits here)."""
    monkeypatch.setattr("pipelines.components.email.MAX_READ_BYTES", len(MESSAGES["c"]) + 100)
    with pytest.raises(ComponentError, match=r"search\.limit: the 2 newest matching emails add up to more than"):
        await read(dovecot, {"mailbox": "INBOX", "limit": 1000})
    assert [e["subject"] for e in await read(dovecot, {"mailbox": "INBOX", "limit": 1})] == ["Résumé and report"]


async def test_reading_marks_nothing_as_seen(dovecot, trusted):
    await read(dovecot, {"mailbox": "INBOX"})
    assert not any(path.name.endswith("S") for path in (dovecot.maildir() / "cur").iterdir())


@pytest.mark.parametrize(
    ("search", "words"),
    [
        ({"mailbox": "Archive"}, "search.mailbox: the server has no mailbox 'Archive'"),
        ({}, "search.mailbox is required"),
        ({"mailbox": "INBOX", "limit": -1}, "search.limit must be a positive integer"),
        ({"mailbox": "INBOX", "date": "2024-13-45"}, "search.date is not a date"),
    ],
)
async def test_bad_searches_are_errors_naming_the_field(dovecot, trusted, search, words):
    with pytest.raises(ComponentError) as caught:
        await read(dovecot, search)
    assert words in str(caught.value)


async def test_a_refused_imap_login_keeps_the_password_out(dovecot, trusted):
    with pytest.raises(ComponentError) as caught:
        await run_task(
            COMPONENT,
            "TASK_READ_EMAILS",
            {"search": {"mailbox": "INBOX"}},
            setup=setup(dovecot.tls_port, password="not-the-password-99"),
            **ALLOW,
        )
    assert f"refused the login of {USER}" in str(caught.value)
    assert "not-the-password-99" not in str(caught.value)


# --- in recipes: secrets and connections -----------------------------------------------

RECIPE = """
version: v1beta
variable:
  subject:
    type: string
component:
  send:
    type: email
    task: TASK_SEND_EMAIL
    input:
      recipients: [bob@example.com]
      subject: ${variable.subject}
      message: The password is not ${variable.subject}.
    setup: SETUP
  read:
    type: email
    task: TASK_READ_EMAILS
    input:
      search:
        mailbox: INBOX
        search-from: <carol@example.com>
    setup: SETUP
output:
  result:
    value: ${send.output.result}
  emails:
    value: ${read.output.emails}
"""


def test_a_plaintext_password_in_a_recipe_is_refused():
    text = RECIPE.replace(
        "SETUP",
        "{server-address: localhost, server-port: 587, email-address: a@b.c, password: hunter2}",
    )
    with pytest.raises(RecipeInvalid, match="password"):
        parse_recipe(text, registry=default_registry())


@pytest.mark.parametrize("how", ["secret", "connection"])
async def test_a_recipe_sends_and_reads_with_its_setup_from_a_secret_or_a_connection(
    how, smtp_starttls, dovecot, trusted
):
    """Two components (SMTP and IMAP servers on their ports); the password comes from
    ``${secret.*}`` or the whole setup from ``${connection.*}``, and shows nowhere."""
    if how == "secret":
        send_setup = f'{{server-address: localhost, server-port: {smtp_starttls.port}, email-address: {USER}, password: "${{secret.mail-password}}"}}'
        read_setup = send_setup.replace(str(smtp_starttls.port), str(dovecot.tls_port))
        secrets = {"mail-password": PASSWORD}
    else:
        send_setup, read_setup = "${connection.smtp}", "${connection.imap}"
        secrets = {
            **packed("smtp", setup(smtp_starttls.port), [PASSWORD]),
            **packed("imap", setup(dovecot.tls_port), [PASSWORD]),
        }
    text = RECIPE.replace("setup: SETUP\n  read:", f"setup: {send_setup}\n  read:").replace(
        "setup: SETUP", f"setup: {read_setup}"
    )
    recipe = parse_recipe(text, registry=default_registry())
    events: list[Any] = []
    result = await execute(
        recipe,
        recipe.bind_rows([{"subject": PASSWORD}]),
        secrets=secrets,
        config=ALLOW,
        on_event=events.append,
    )
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs["result"] == "Email sent successfully"
    assert [e["subject"] for e in row.outputs["emails"]] == ["Lunch?"]
    assert PASSWORD not in everything_handed_out(result, events)
    assert "***" in everything_handed_out(result, events)
