"""The postback pipeline: authenticate, parse, record, answer.

The public endpoints (tracking/endpoints.py for everyday traffic, tracking/public_views.py
when Django serves them) read the request into a Hit and hand it to answer_postback or
answer_pixel; replays and test conversions (tracking/services/replays.py) and the demo
start at process_hit.

A hit goes: parameters read with the network the URL names (tracking/postback_params.py),
then secret -> connection plus the click of the hit's transaction id and any conversion
already stored under its dedupe key (one indexed query; unknown secret: 404 "not found"),
IP allowlist, HTTP Basic auth, size limit, then one call to record_conversion, which
stores the PostbackLog row in the same transaction as the conversion change (on
PostgreSQL, in the same statement). Every hit is logged, rejected ones with their
reason. Nothing here makes outbound calls.

When the database is away (a refused or dropped connection), a hit cannot be logged:
answer_postback and answer_pixel keep it in the local spool (tracking/spool.py) and
answer 503 (a pixel: its GIF); tracking/services/spooled.py replays it through
postback_outcome / pixel_outcome once the database is back. A hit the pipeline answers
503 itself (the Redis buffer holding its click is down) is logged; a pixel's is also
spooled, since a browser never retries.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from offers.models import NetworkConnection
from tracking import spool
from tracking.attribution import HitLookup
from tracking.models import ConversionSource, PostbackLog
from tracking.postback_params import NETWORKS, ParseError, parse_conversion, parse_params
from tracking.reported import ConversionData
from tracking.services.conversions import find_connection, record_conversion
from workspaces.http import client_ip as click_client_ip

logger = logging.getLogger(__name__)

# A 1x1 transparent GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# The answer to a postback that needs HTTP Basic credentials (401).
BASIC_CHALLENGE = 'Basic realm="postback", charset="UTF-8"'
# The answer when a hit could not be stored now, and when a network should try again.
UNAVAILABLE = "temporarily unavailable; please retry"
RETRY_AFTER_SECONDS = 30
Outcome = PostbackLog.Outcome


@dataclass(frozen=True)
class Hit:
    """One inbound request, reduced to what the log keeps and the parser needs."""

    method: str
    query: str
    body: bytes
    content_type: str
    source_ip: str | None
    too_large: bool = False
    authorization: str = ""
    # When the hit arrived, if not now (a hit replayed from the spool).
    received_at: datetime | None = None

    def to_json(self) -> dict:
        values = dataclasses.asdict(self)
        values["body"] = base64.b64encode(self.body).decode()
        values["received_at"] = (self.received_at or timezone.now()).isoformat()
        return values

    @classmethod
    def from_json(cls, values: dict) -> "Hit":
        values = {**values, "body": base64.b64decode(values["body"])}
        values["received_at"] = datetime.fromisoformat(values["received_at"])
        return cls(**values)


@dataclass(frozen=True)
class Received:
    log: PostbackLog
    status: int

    @property
    def answer(self) -> str:
        if self.log.outcome == Outcome.REJECTED:
            return self.log.reason or "rejected"
        return self.log.outcome


@dataclass(frozen=True)
class Parsed:
    """A hit's parameters read with one network's names: the conversion, or why not."""

    network: str
    params: dict
    data: ConversionData | None = None
    error: str = ""


# --- the request ----------------------------------------------------------


def read_hit(request) -> Hit:
    """Read at most POSTBACK_BODY_LIMIT + 1 bytes of body, so an oversized hit is noticed, not swallowed."""
    limit = settings.POSTBACK_BODY_LIMIT
    body = request.read(limit + 1) if request.method == "POST" else b""
    # WSGI hands the query string over as bytes decoded with latin-1 (PEP 3333).
    query = request.META.get("QUERY_STRING", "")
    return Hit(
        method=request.method,
        query=query,
        body=body,
        content_type=request.META.get("CONTENT_TYPE", ""),
        source_ip=client_ip(request),
        too_large=len(body) > limit or len(query) > limit,
        authorization=request.META.get("HTTP_AUTHORIZATION", ""),
    )


def client_ip(request) -> str | None:
    """The caller's IP (honouring TRUSTED_PROXY_COUNT like the click redirect), or None if unusable."""
    try:
        return str(ipaddress.ip_address(click_client_ip(request.META)))
    except ValueError:
        return None


# --- answer: the endpoints without HTTP -----------------------------------


def answer_postback(hit: Hit, network: str, secret: str) -> tuple[int, str]:
    """(status, plain-text answer) for one postback hit: the whole endpoint, without HTTP.

    When the database is away the hit goes to the spool and the answer is 503.
    """
    try:
        return postback_outcome(hit, network, secret)
    except spool.DATABASE_DOWN:
        logger.warning("database unavailable; spooling a postback", exc_info=True)
        _spool_hit("postback", hit, network=network, secret=secret)
        return 503, UNAVAILABLE


def answer_pixel(hit: Hit, secret: str) -> None:
    """Record one pixel hit; the answer is always the GIF, whatever happened."""
    try:
        status = pixel_outcome(hit, secret)
    except spool.DATABASE_DOWN:
        logger.warning("database unavailable; spooling a pixel hit", exc_info=True)
        status = 503
    if status == 503:
        _spool_hit("pixel", hit, network="", secret=secret)


def answer_headers(status: int) -> list[tuple[str, str]]:
    """The headers an answer with ``status`` carries besides the usual ones."""
    if status == 401:
        return [("WWW-Authenticate", BASIC_CHALLENGE)]
    if status == 503:
        return [("Retry-After", str(RETRY_AFTER_SECONDS))]
    return []


def postback_outcome(hit: Hit, network: str, secret: str) -> tuple[int, str]:
    """answer_postback without the spool: raises spool.DATABASE_DOWN when the database is away."""
    # Reading the hit with the network the URL names gives the transaction id and dedupe
    # key, so the connection, the click and an already stored conversion come back from
    # one query.
    parsed = parse_hit(hit, network) if network in NETWORKS and not hit.too_large else None
    data = parsed.data if parsed is not None else None
    connection, lookup = find_connection(
        secret=secret,
        transaction_id=data.transaction_id if data is not None else "",
        dedupe_key=data.dedupe_key if data is not None else "",
    )
    if connection is None:
        _log_unknown(hit, network if network in NETWORKS else "unknown", False, "unknown secret")
        return 404, "not found"
    if network != connection.kind:
        # Same answer as an unknown secret; the brand still sees the mix-up in its log.
        reason = f"postback URL names {network[:20]} but the secret belongs to a {connection.kind} connection"
        _log_unknown(hit, connection.kind, False, reason, connection)
        return 404, "not found"
    received = process_hit(
        connection=connection,
        hit=hit,
        is_pixel=False,
        source=ConversionSource.POSTBACK,
        parsed=parsed,
        lookup=lookup,
    )
    return received.status, received.answer


# Pixel secret -> its connection's network, as this process last found it (pixel_outcome).
_pixel_networks: dict[str, str] = {}
PIXEL_NETWORKS_MAX = 10_000


def pixel_outcome(hit: Hit, secret: str) -> int:
    """Record one pixel hit and return the status a postback would have had; raises spool.DATABASE_DOWN.

    A pixel's URL does not name the network whose parameter names it carries: that is
    the connection's. Once this process has seen a pixel of the secret, the hit is read
    with that network's names first, so, as for a postback, the connection, the click and
    an already stored conversion come back from one query. Should the connection's
    network be another now, the hit is read again and the lookup left unused.
    """
    network = _pixel_networks.get(secret)
    parsed = parse_hit(hit, network) if network is not None and not hit.too_large else None
    data = parsed.data if parsed is not None else None
    connection, lookup = find_connection(
        secret=secret,
        transaction_id=data.transaction_id if data is not None else "",
        dedupe_key=data.dedupe_key if data is not None else "",
    )
    if connection is None:
        _log_unknown(hit, "unknown", True, "unknown secret")
        return 404
    if network != connection.kind:
        if len(_pixel_networks) >= PIXEL_NETWORKS_MAX:
            _pixel_networks.clear()
        _pixel_networks[secret] = connection.kind
        parsed, lookup = None, None
    received = process_hit(
        connection=connection,
        hit=hit,
        is_pixel=True,
        source=ConversionSource.PIXEL,
        parsed=parsed,
        lookup=lookup,
    )
    return received.status


def _spool_hit(kind: str, hit: Hit, *, network: str, secret: str) -> None:
    try:
        spool.put({"kind": kind, "network": network, "secret": secret, "hit": hit.to_json()})
    except OSError:
        # Nothing else can keep it: the network's retry is all that is left.
        logger.exception("could not spool a %s hit", kind)


# --- record: one hit for one connection -----------------------------------


def process_hit(
    *,
    connection: NetworkConnection,
    hit: Hit,
    is_pixel: bool,
    source: str,
    is_test: bool = False,
    replay_of: PostbackLog | None = None,
    check_access: bool = True,
    parsed: Parsed | None = None,
    lookup: HitLookup | None = None,
) -> Received:
    """Check, parse and record one hit for ``connection``; always leaves exactly one PostbackLog row.

    ``parsed`` and ``lookup`` are work the caller already did for this hit (parse_hit,
    find_connection); they are used only if they were done for this connection's network.
    """
    log = new_log(hit=hit, network=connection.kind, is_pixel=is_pixel, is_test=is_test, replay_of=replay_of)
    if check_access:
        denied = _check_access(connection, hit)
        if denied is not None:
            return _reject(log, denied[0], denied[1], connection)
    if hit.too_large:
        return _reject(log, f"request larger than {settings.POSTBACK_BODY_LIMIT} bytes", 413, connection)
    if parsed is None or parsed.network != connection.kind:
        parsed = parse_hit(hit, connection.kind)
    log.params = parsed.params
    if parsed.error:
        status = 415 if parsed.error.startswith("unsupported content type") else 400
        return _reject(log, parsed.error, status, connection)

    log.response_status = 200
    try:
        result = record_conversion(connection=connection, data=parsed.data, source=source, postback=log, lookup=lookup)
    except Exception:
        # Not the caller's fault (the click buffer is down, the connection dropped
        # mid-statement): keep the hit and answer 503 so the network retries. If the
        # database is away, this log row fails too and the caller spools the hit.
        logger.exception("postback for connection %s failed", connection.pk)
        log.pk, log.conversion = None, None
        return _reject(log, UNAVAILABLE, 503, connection)
    if result.outcome == Outcome.REJECTED:
        # The parameters were fine but contradict the stored conversion (e.g. another currency).
        PostbackLog.objects.filter(pk=log.pk).update(response_status=422)
        log.response_status = 422
    return Received(log, log.response_status)


# --- authenticate ---------------------------------------------------------


def _check_access(connection: NetworkConnection, hit: Hit) -> tuple[str, int] | None:
    """(reason, status) when the connection's IP allowlist or Basic auth refuses the hit."""
    allowlist = allowed_networks(connection.ip_allowlist)
    if allowlist:
        ip = ipaddress.ip_address(hit.source_ip) if hit.source_ip else None
        if ip is None or not any(ip in net for net in allowlist if net.version == ip.version):
            return f"source IP {hit.source_ip or 'unknown'} is not in the allowlist", 403
    if connection.basic_auth_username:
        problem = _basic_auth_problem(connection, hit.authorization)
        if problem:
            return problem, 401
    return None


@lru_cache(maxsize=256)
def allowed_networks(text: str) -> tuple:
    nets = []
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            nets.append(ipaddress.ip_network(line, strict=False))
        except ValueError:
            logger.warning("ignoring invalid allowlist entry %r", line)
    return tuple(nets)


# Verified (connection, stored hash, credentials digest): a password hasher costs tens of
# milliseconds by design, too slow to pay on every postback of a busy network.
_verified_credentials: dict[tuple, bool] = {}


def _basic_auth_problem(connection: NetworkConnection, header: str) -> str:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "HTTP Basic authentication required"
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "malformed HTTP Basic credentials"
    if not sep:
        return "malformed HTTP Basic credentials"
    digest = hashlib.sha256(f"{username}:{password}".encode()).hexdigest()
    key = (connection.pk, connection.basic_auth_username, connection.basic_auth_password_hash, digest)
    if key in _verified_credentials:
        return ""
    ok_user = hmac.compare_digest(username.encode(), connection.basic_auth_username.encode())
    ok_password = check_password(password, connection.basic_auth_password_hash)
    if not (ok_user and ok_password):
        return "HTTP Basic authentication failed"
    if len(_verified_credentials) > 1000:
        _verified_credentials.clear()
    _verified_credentials[key] = True
    return ""


# --- parse ----------------------------------------------------------------


def parse_hit(hit: Hit, network: str) -> Parsed:
    """Read ``hit`` with ``network``'s parameter names (no size or access checks here)."""
    params: dict = {}
    try:
        params = parse_params(query=_ascii_query(hit.query), body=hit.body, content_type=hit.content_type)
        return Parsed(network, params, parse_conversion(params, network=network))
    except ParseError as exc:
        return Parsed(network, params, error=str(exc))


def _ascii_query(query: str) -> str:
    """The query string with raw non-ASCII bytes percent-encoded, so the parser decodes them strictly as UTF-8."""
    raw = query.encode("latin-1", "replace")
    return quote(raw, safe=bytes(range(0x21, 0x7F)))


# --- the log row ----------------------------------------------------------


def new_log(*, hit: Hit, network: str, is_pixel: bool, is_test: bool = False, replay_of=None) -> PostbackLog:
    limit = settings.POSTBACK_BODY_LIMIT
    query = hit.query.encode("latin-1", "replace").decode("utf-8", "replace")
    return PostbackLog(
        network=network[:12],
        method=hit.method[:8],
        is_pixel=is_pixel,
        is_test=is_test,
        source_ip=hit.source_ip,
        query=_clean(query[:limit]),
        body=_clean(hit.body[:limit].decode("utf-8", "replace")),
        content_type=_clean(hit.content_type[:200]),
        replay_of=replay_of,
        **({"received_at": hit.received_at} if hit.received_at else {}),
    )


def _reject(log: PostbackLog, reason: str, status: int, connection: NetworkConnection | None = None) -> Received:
    log.outcome = Outcome.REJECTED
    log.reason = _clean(reason)[:500]
    log.response_status = status
    if connection is not None:
        log.workspace_id = connection.workspace_id
        log.connection = connection
    log.save()
    return Received(log, status)


def _log_unknown(hit: Hit, network: str, is_pixel: bool, reason: str, connection=None) -> None:
    log = new_log(hit=hit, network=network, is_pixel=is_pixel)
    _reject(log, reason, 404, connection)


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; undecodable bytes become U+FFFD.
    return text.replace("\x00", "\ufffd")
