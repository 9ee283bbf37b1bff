"""The ``email`` application component: send mail over SMTP and read a mailbox over IMAP
(Instill ``email`` v0: ``TASK_SEND_EMAIL``, ``TASK_READ_EMAILS``; setup
``server-address``, ``server-port``, ``email-address``, ``password``).

- ``TASK_SEND_EMAIL`` logs in to the SMTP server as ``email-address`` and sends one
  plain-text UTF-8 message (``From``, ``To``, ``Cc``, ``Subject``, ``Date``,
  ``Message-ID`` headers) to every address of ``recipients``, ``cc`` and ``bcc`` (Bcc
  is not written in the headers). Answers ``result: "Email sent successfully"``.
- ``TASK_READ_EMAILS`` logs in to the IMAP server, opens ``search.mailbox`` read-only
  (reading marks nothing as seen), asks the server to ``SEARCH`` with the criteria
  given (``SUBJECT``, ``FROM``, ``TO``, ``BODY``, ``SENTON`` for a whole
  ``YYYY-MM-DD`` date) and then checks each candidate as Instill does: the subject
  and message contain ``search-subject`` and ``search-email-message``, the sender
  (one of the recipients) is ``search-from`` (``search-to``), written ``<a@b.c>`` as
  Instill asks or plainly ``a@b.c``, the date (``YYYY-MM-DD HH:MM:SS`` as the message
  gives it) contains ``date``. The newest ``limit`` (100 by default) matches are
  answered, newest first, each with ``date``, ``from``, ``to``, ``subject`` and
  ``message`` (its text parts, HTML left out).

TLS: see :mod:`~pipelines.components._mail_socket`. Every connection goes to an address
the outbound guard vetted (``PIPELINE_HTTP_ALLOWED_HOSTS`` admits private ones). The
password is a credential field (a ``${secret.*}`` or a connection) and never appears
in an error.
"""

from __future__ import annotations

import asyncio
import base64
import email.message
import email.policy
import email.utils
import imaplib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pipelines.components import outbound
from pipelines.components._mail_socket import Endpoint, MailConnection, clear_text_refused, open_connection
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

SENT = "Email sent successfully"
#: Instill's EmailReadingDefaultCapacity: how many emails a search answers at most by default.
DEFAULT_LIMIT = 100
#: The most bytes the messages one TASK_READ_EMAILS answers may add up to (raw, as the
#: server sends them): each is held in memory, and ``search.limit`` has no bound.
MAX_READ_BYTES = 64 * 1024 * 1024
_FETCH_BATCH = 10

# --- schemas ------------------------------------------------------------------------


def _string(title: str, description: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": description}


def _strings(title: str, description: str) -> dict[str, Any]:
    return {"type": "array", "title": title, "description": description, "items": {"type": "string"}}


SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Email",
    "additionalProperties": False,
    "properties": {
        "server-address": _string("Server Address", "The address of the email server."),
        "server-port": {"type": "integer", "title": "Server Port", "description": "The port of the email server."},
        "email-address": _string("Email Address", "The email address of the user."),
        "password": {
            **_string("App Password", "The password of the App passwords in Gmail settings."),
            "instillSecret": True,
        },
    },
    "required": ["email-address", "password", "server-address", "server-port"],
}
SEND_INPUT: dict[str, Any] = {
    "type": "object",
    "title": "Input",
    "properties": {
        "recipients": _strings("Recipient", "The email addresses of the recipients."),
        "cc": _strings("Cc", "The email addresses for Carbon Copy."),
        "bcc": _strings("Bcc", "The email addresses for Blind Carbon Copy."),
        "subject": _string("Subject", "The subject of the email."),
        "message": _string("Message", "The message to be sent."),
    },
    "required": ["recipients", "message"],
}
SEND_OUTPUT: dict[str, Any] = {
    "type": "object",
    "title": "Output",
    "properties": {"result": _string("Result", "The result of sending the email.")},
    "required": ["result"],
}
READ_INPUT: dict[str, Any] = {
    "type": "object",
    "title": "Input",
    "properties": {
        "search": {
            "type": "object",
            "title": "Search",
            "description": "The search criteria for the emails.",
            "properties": {
                "mailbox": _string("Mailbox", "The mailbox to search for emails."),
                "search-subject": _string("Search Subject", "Search for emails with a specific subject."),
                "search-from": _string("Search From", "Search for emails from a specific email address."),
                "search-to": _string("Search To", "Search for emails to a specific email address."),
                "limit": {
                    "type": "integer",
                    "title": "Limit",
                    "description": "The maximum number of emails to search for.",
                },
                "date": _string("Search Date", "Search for emails with the date the email was sent."),
                "search-email-message": _string("Search Message", "Search for emails with a specific message."),
            },
            "required": ["mailbox"],
        }
    },
    "required": [],
}
READ_OUTPUT: dict[str, Any] = {
    "type": "object",
    "title": "Output",
    "properties": {
        "emails": {
            "type": "array",
            "title": "Emails",
            "description": "The emails that match the search criteria.",
            "items": {
                "type": "object",
                "properties": {
                    "date": _string("Date", "The date the email was sent."),
                    "from": _string("From", "The email address of the sender."),
                    "to": _strings("To", "The email addresses of the recipient."),
                    "subject": _string("Subject", "The subject of the email."),
                    "message": _string("Message", "The message of the email."),
                },
                "required": [],
            },
        }
    },
    "required": ["emails"],
}

# --- setup --------------------------------------------------------------------------


def check_setup(setup: Mapping[str, Any]) -> list[tuple[str, str]]:
    port = setup.get("server-port")
    if isinstance(port, int) and not isinstance(port, bool) and not 0 < port < 65536:
        return [("server-port", "server-port must be between 1 and 65535")]
    return []


def _setup_string(setup: Mapping[str, Any], field: str) -> str:
    value = setup.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ComponentError(f"setup.{field} is required (a string).")
    return value.strip() if field != "password" else value


async def _endpoint(ctx: TaskContext) -> Endpoint:
    host = _setup_string(ctx.setup, "server-address")
    if "/" in host or any(c.isspace() for c in host):
        raise ComponentError(f"setup.server-address must be a host name or an address, got {host!r}.")
    port = ctx.setup.get("server-port")
    if isinstance(port, float) and port.is_integer():
        port = int(port)
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ComponentError("setup.server-port must be a port number between 1 and 65535.")
    host = host.strip("[]")
    policy = outbound.OutboundPolicy.from_hosts(ctx.config.get("http_allowed_hosts", ()))
    addresses = await outbound.resolve_checked(host, port, policy=policy)
    timeout = float(ctx.config.get("http_timeout", outbound.DEFAULT_TIMEOUT))
    return Endpoint(host, port, tuple(addresses), timeout)


async def _off_loop[T](ctx: TaskContext, work: Callable[[], T], protocol: str, endpoint: Endpoint) -> T:
    """``work`` (a blocking mail session) in a thread; failures as errors naming the
    server, with the password (should a server echo it) masked."""
    password = str(ctx.setup.get("password") or "")
    try:
        return await asyncio.to_thread(work)
    except ComponentError as exc:
        raise ComponentError(_masked(str(exc), password)) from None
    except TimeoutError:
        raise ComponentError(
            f"{protocol} server {endpoint.host}:{endpoint.port} did not answer within {endpoint.timeout:g} s"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise ComponentError(
            f"the certificate of {endpoint.host}:{endpoint.port} is not trusted: {exc.verify_message}"
        ) from None
    except (OSError, smtplib.SMTPException, imaplib.IMAP4.error) as exc:
        message = _masked(str(exc) or type(exc).__name__, password)
        raise ComponentError(f"{protocol} with {endpoint.host}:{endpoint.port} failed: {message}") from None


def _masked(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text


# --- sending ------------------------------------------------------------------------


def _addresses(input: Mapping[str, Any], field: str, required: bool = False) -> list[str]:
    value = input.get(field)
    if value is None or value == []:
        if required:
            raise ComponentError(f"{field} must list at least one email address.")
        return []
    if not isinstance(value, list):
        raise ComponentError(f"{field} must be a list of email addresses.")
    out = []
    for i, address in enumerate(value):
        if not isinstance(address, str) or not _looks_like_address(address):
            raise ComponentError(f"{field}[{i}] is not an email address: {str(address)[:100]!r}.")
        out.append(address.strip())
    return out


def _looks_like_address(address: str) -> bool:
    address = address.strip()
    _, bare = email.utils.parseaddr(address)
    return bool(bare) and "@" in bare and not any(c in address for c in "\r\n\0")


def _message(sender: str, input: Mapping[str, Any], to: list[str], cc: list[str]) -> email.message.EmailMessage:
    body = input.get("message")
    if not isinstance(body, str):
        raise ComponentError("message is required (a string).")
    subject = input.get("subject") or ""
    if not isinstance(subject, str) or "\r" in subject or "\n" in subject:
        raise ComponentError("subject must be a string on one line.")
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if subject:
        message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message


class _SMTP(smtplib.SMTP):
    """smtplib on a socket already opened to a vetted address; STARTTLS verifies the
    certificate against the setup's host name."""

    def __init__(self, endpoint: Endpoint, connection: MailConnection) -> None:
        super().__init__(local_hostname="localhost", timeout=endpoint.timeout)
        self._connection = connection
        self._host = endpoint.host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._connection.sock


def _send(endpoint: Endpoint, sender: str, password: str, message: email.message.EmailMessage, to: list[str]) -> None:
    connection = open_connection(endpoint)
    smtp = _SMTP(endpoint, connection)
    try:
        code, _greeting = smtp.connect(endpoint.host, endpoint.port)
        if code != 220:
            raise ComponentError(f"SMTP server {endpoint.host}:{endpoint.port} refused the connection: {code}")
        smtp.ehlo()
        if not connection.encrypted:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=endpoint.tls_context())
                smtp.ehlo()
            elif not endpoint.loopback:
                raise clear_text_refused(endpoint, "SMTP")
        if not smtp.has_extn("auth"):
            raise ComponentError(f"SMTP server {endpoint.host}:{endpoint.port} offers no login (AUTH)")
        try:
            smtp.login(sender, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ComponentError(
                f"SMTP server {endpoint.host}:{endpoint.port} refused the login of {sender}: {_reply(exc)}"
            ) from None
        try:
            smtp.send_message(message, from_addr=sender, to_addrs=to)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{addr} ({code} {_text(text)})" for addr, (code, text) in exc.recipients.items())
            raise ComponentError(f"the SMTP server refused the recipients {refused}") from None
        except smtplib.SMTPSenderRefused as exc:
            raise ComponentError(f"the SMTP server refused the sender {sender}: {_reply(exc)}") from None
        except smtplib.SMTPDataError as exc:
            raise ComponentError(f"the SMTP server refused the message: {_reply(exc)}") from None
        smtp.quit()
    finally:
        smtp.close()


def _text(value: bytes | str | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


async def run_send_email(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    sender = _setup_string(ctx.setup, "email-address")
    password = _setup_string(ctx.setup, "password")
    if not _looks_like_address(sender):
        raise ComponentError(f"setup.email-address is not an email address: {sender[:100]!r}.")
    to = _addresses(input, "recipients", required=True)
    cc = _addresses(input, "cc")
    bcc = _addresses(input, "bcc")
    message = _message(sender, input, to, cc)
    endpoint = await _endpoint(ctx)
    everyone = list(dict.fromkeys(to + cc + bcc))
    await _off_loop(ctx, lambda: _send(endpoint, sender, password, message, everyone), "SMTP", endpoint)
    return {"result": SENT}


# --- reading ------------------------------------------------------------------------


class _IMAP(imaplib.IMAP4):
    """imaplib on a socket already opened to a vetted address."""

    def __init__(self, endpoint: Endpoint, connection: MailConnection) -> None:
        self._connection = connection
        super().__init__(endpoint.host, endpoint.port, endpoint.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._connection.sock


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mailbox_name(name: str) -> str:
    """``name`` as IMAP writes mailbox names: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return _quoted("".join(out))


def _plain(text: str) -> bool:
    """Whether ``text`` can go into a SEARCH as a quoted string."""
    return text.isascii() and all(0x20 <= ord(c) <= 0x7E for c in text)


def _bare(address: str) -> str:
    return address.strip().removeprefix("<").removesuffix(">").strip().lower()


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Search:
    def __init__(self, search: Mapping[str, Any]) -> None:
        mailbox = search.get("mailbox")
        if not isinstance(mailbox, str) or not mailbox:
            raise ComponentError("search.mailbox is required (for instance INBOX).")
        self.mailbox = mailbox
        self.texts: dict[str, str] = {}
        for field in ("search-subject", "search-from", "search-to", "date", "search-email-message"):
            value = search.get(field)
            if value in (None, ""):
                continue
            if not isinstance(value, str):
                raise ComponentError(f"search.{field} must be a string.")
            self.texts[field] = value
        limit = search.get("limit")
        if limit in (None, 0):
            limit = DEFAULT_LIMIT
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ComponentError("search.limit must be a positive integer.")
        self.limit = limit
        day = self.texts.get("date", "")
        if day and _DAY.fullmatch(day):
            try:
                datetime.strptime(day, "%Y-%m-%d")
            except ValueError:
                raise ComponentError(f"search.date is not a date: {day!r} (YYYY-MM-DD).") from None

    def criteria(self) -> list[str]:
        """The IMAP SEARCH keys (RFC 3501 6.4.4) of the plain-text criteria; the rest
        is checked on the messages."""
        keys: list[str] = []
        for field, key in (
            ("search-subject", "SUBJECT"),
            ("search-from", "FROM"),
            ("search-to", "TO"),
            ("search-email-message", "BODY"),
        ):
            value = self.texts.get(field)
            if value is not None:
                value = _bare(value) if field in ("search-from", "search-to") else value
                if value and _plain(value):
                    keys += [key, _quoted(value)]
        day = self.texts.get("date", "")
        if _DAY.fullmatch(day):
            year, month, date = day.split("-")
            keys += ["SENTON", f"{int(date)}-{_MONTHS[int(month) - 1]}-{year}"]
        return keys or ["ALL"]

    def matches(self, found: dict[str, Any]) -> bool:
        texts = self.texts
        if "search-subject" in texts and texts["search-subject"] not in found["subject"]:
            return False
        if "search-from" in texts and not _same_address(texts["search-from"], [found["from"]]):
            return False
        if "search-to" in texts and not _same_address(texts["search-to"], found["to"]):
            return False
        if "date" in texts and texts["date"] not in found["date"]:
            return False
        return "search-email-message" not in texts or texts["search-email-message"] in found["message"]


def _same_address(wanted: str, addresses: list[str]) -> bool:
    bare = _bare(wanted)
    return any(address == wanted or _bare(email.utils.parseaddr(address)[1]) == bare for address in addresses)


def _address(name: str, address: str) -> str:
    """As Instill (Go's mail.Address) writes one: ``"Name" <a@b.c>`` or ``<a@b.c>``."""
    return f'"{name}" <{address}>' if name else f"<{address}>"


def _email_of(raw: bytes) -> dict[str, Any]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    found: dict[str, Any] = {"date": "", "from": "", "to": [], "subject": "", "message": ""}
    try:
        date = message["Date"]
        if date is not None and date.datetime is not None:
            found["date"] = date.datetime.strftime("%Y-%m-%d %H:%M:%S")
        senders = message["From"].addresses if message["From"] is not None else ()
        if senders:
            found["from"] = _address(senders[0].display_name, senders[0].addr_spec)
        recipients = message["To"].addresses if message["To"] is not None else ()
        found["to"] = [_address(a.display_name, a.addr_spec) for a in recipients]
        found["subject"] = str(message["Subject"] or "")
    except (ValueError, TypeError, IndexError, AttributeError):
        pass  # a malformed header stays empty, as Instill leaves it
    parts = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text" or part.get_content_subtype() == "html":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        try:
            parts.append(part.get_content())
        except (LookupError, ValueError):
            payload = part.get_payload(decode=True)  # an unknown charset: read as UTF-8
            parts.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else "")
    found["message"] = "".join(parts)
    return found


_UID = re.compile(rb"UID (\d+)")


def _fetch(imap: _IMAP, uids: list[bytes]) -> dict[bytes, bytes]:
    typ, data = imap.uid("FETCH", b",".join(uids).decode(), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ComponentError(f"the IMAP server refused to fetch the messages: {_text(data[0] if data else b'')}")
    out: dict[bytes, bytes] = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            uid = _UID.search(item[0])
            if uid:
                out[uid.group(1)] = item[1]
    return out


def _read(endpoint: Endpoint, user: str, password: str, search: _Search) -> list[dict[str, Any]]:
    connection = open_connection(endpoint)
    imap = _IMAP(endpoint, connection)
    try:
        if not connection.encrypted:
            if "STARTTLS" in imap.capabilities:
                imap.starttls(endpoint.tls_context())
            elif not endpoint.loopback:
                raise clear_text_refused(endpoint, "IMAP")
        try:
            imap.login(user, password)
        except imaplib.IMAP4.error as exc:
            raise ComponentError(
                f"IMAP server {endpoint.host}:{endpoint.port} refused the login of {user}: {exc}"
            ) from None
        typ, data = imap.select(_mailbox_name(search.mailbox), readonly=True)
        if typ != "OK":
            raise ComponentError(f"search.mailbox: the server has no mailbox {search.mailbox!r} ({_text(data[0])})")
        typ, data = imap.uid("SEARCH", *search.criteria())
        if typ != "OK":
            raise ComponentError(f"the IMAP server refused the search: {_text(data[0] if data else b'')}")
        uids = sorted((data[0] or b"").split(), key=int, reverse=True)
        emails: list[dict[str, Any]] = []
        size = 0
        for start in range(0, len(uids), _FETCH_BATCH):
            batch = uids[start : start + _FETCH_BATCH]
            fetched = _fetch(imap, batch)
            for uid in batch:
                if uid in fetched:
                    found = _email_of(fetched[uid])
                    if search.matches(found):
                        size += len(fetched[uid])
                        if size > MAX_READ_BYTES:
                            raise ComponentError(
                                f"search.limit: the {len(emails) + 1} newest matching emails add up to more than "
                                f"{MAX_READ_BYTES / (1024 * 1024):g} MB; give a smaller limit or a narrower search."
                            )
                        emails.append(found)
                        if len(emails) >= search.limit:
                            return emails
        return emails
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


async def run_read_emails(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    given = input.get("search")
    if not isinstance(given, Mapping):
        raise ComponentError("search is required: an object with at least a mailbox (for instance INBOX).")
    search = _Search(given)
    user = _setup_string(ctx.setup, "email-address")
    password = _setup_string(ctx.setup, "password")
    endpoint = await _endpoint(ctx)
    emails = await _off_loop(ctx, lambda: _read(endpoint, user, password, search), "IMAP", endpoint)
    return {"emails": emails}


COMPONENT = ComponentDefinition(
    type="email",
    title="Email",
    kind="application",
    description="Get and send email from Mail Protocol.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"password"}),
    check_setup=check_setup,
    tasks={
        "TASK_SEND_EMAIL": Task(
            name="TASK_SEND_EMAIL",
            title="Send Email",
            description="Send an email to recipients",
            input_schema=SEND_INPUT,
            output_schema=SEND_OUTPUT,
            run=run_send_email,
        ),
        "TASK_READ_EMAILS": Task(
            name="TASK_READ_EMAILS",
            title="Read Emails",
            description="Read emails from a mailbox",
            input_schema=READ_INPUT,
            output_schema=READ_OUTPUT,
            run=run_read_emails,
        ),
    },
)
