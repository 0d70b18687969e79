"""Parsing postback and pixel parameters into a ConversionData. Pure: no database, no request.

A coupon or voucher code (``promo_code``, ``coupon``, ``voucher``, Impact's ``PromoCode``,
Awin's ``voucherCode``) attributes a conversion that has no click id to the code's member.

What a postback must carry: our ``transaction_id`` (under any of its names) or the
network's conversion id (Impact ActionId, ShareASale transID, TUNE adv_sub...), so
that it has a dedupe key. The "server postback with affiliate ID" protocol sends
``affiliate_id`` with a conversion id. A conversion id alone updates the conversion
it names, or is kept unattributed. Everything else is optional.

Rules:
- Parameter names are case-insensitive; the first non-empty name of a meaning, in
  the order of the tables below, wins (Impact may send both ``action_id`` and
  ``oid``: the ActionId is the conversion id).
- Parameters come from the query string, a form body or a JSON object body; a body
  value overrides the query string's value of the same name.
- A value that is still a macro (``{SubId1}``, ``!!afftrack!!``) was not filled in
  by the network and counts as absent.
- Amounts: plain decimals with a dot (``12.50``). ShareASale may prefix ``$`` and
  group thousands with commas (``$1,234.50``); Awin may use a decimal comma
  (``12,50``). Up to 5 decimal places (TUNE's precision) are rounded half-up to
  cents; more are rejected, as are signs, exponents, NaN, infinities, non-ASCII
  digits and anything above MAX_AMOUNT.
- Items: an ``items`` JSON array of objects (in a JSON body, or as a parameter's value)
  gives the order's lines: sku, name, category, quantity (``qty``), the line's sale
  (``amt``/``amount``, or ``price`` per unit) and payout.
- Dates: ISO 8601 (with offset; naive means UTC), ``yyyy-MM-dd HH:mm:ss``
  (ShareASale: US Central time), or a Unix timestamp in seconds.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from tracking.reported import MAX_AMOUNT, MAX_ITEMS, ConversionData, ReportedItem

MAX_ID_LENGTH = 255
MAX_PARAMS = 100
CENT = Decimal("0.01")
NETWORKS = ("impact", "shareasale", "awin", "generic")

# Meaning -> accepted names (lower-case), in priority order.
NAMES = {
    "transaction_id": ("transaction_id", "subid1", "afftrack", "clickref2", "aff_sub", "click_id"),
    "affiliate_id": ("affiliate_id", "subid2", "aff_id"),
    "external_id": ("action_id", "actionid", "transid", "order_id", "adv_sub", "oid"),
    "sale_amount": ("amount", "amountofsale", "sale_amount"),
    "network_payout": ("payout", "commission"),
    "status": ("status",),
    "currency": ("currency",),
    "event_at": ("event_date", "eventdate", "transdate"),
    "locking_at": ("locking_date", "lockingdate"),
    "promo_code": (
        "promo_code",
        "promocode",
        "coupon",
        "couponcode",
        "coupon_code",
        "voucher",
        "vouchercode",
        "voucher_code",
    ),
    "order_ref": ("order_ref", "orderref", "order_id", "orderid", "oid", "order_number", "ordernumber"),
}
PROMO_CODE_LENGTH = 64

STATUSES = {
    "pending": "pending",
    "new": "pending",
    "tracked": "pending",
    "approved": "approved",
    "locked": "approved",
    "cleared": "approved",
    "paid": "approved",
    "reversed": "reversed",
    "reversal": "reversed",
    "voided": "reversed",
    "void": "reversed",
    "declined": "reversed",
    "rejected": "rejected",
    "invalid": "rejected",
}

SHAREASALE_TZ = ZoneInfo("America/Chicago")
_MACRO = re.compile(r"^(\{[A-Za-z0-9_]+\}|!![A-Za-z0-9_]+!!|%%[A-Za-z0-9_]+%%|\[[A-Za-z0-9_]+\])$")
_ID = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces
_PLAIN = re.compile(r"^[0-9]+(\.[0-9]+)?$", re.ASCII)
_SHAREASALE = re.compile(r"^\$?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$", re.ASCII)
_AWIN = re.compile(r"^[0-9]+([.,][0-9]+)?$", re.ASCII)
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$", re.ASCII)


class ParseError(ValueError):
    """Bad input: the message is the short reason given back to the network."""


def parse_params(*, query: str, body: bytes, content_type: str) -> dict[str, str]:
    """Merge query string and body into {lower-case name: value}. Raises ParseError."""
    params: dict[str, str] = {}
    _merge(params, _parse_urlencoded(query, "query string"))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if body:
        if media_type == "application/json" or media_type.endswith("+json"):
            _merge(params, _parse_json(body))
        elif media_type in ("application/x-www-form-urlencoded", "", "text/plain"):
            text = _decode(body, "body")
            if text.strip():
                _merge(params, _parse_urlencoded(text.strip(), "body"))
        else:
            raise ParseError(f"unsupported content type {media_type[:60]}")
    if len(params) > MAX_PARAMS:
        raise ParseError("too many parameters")
    return params


def _merge(params: dict, pairs) -> None:
    for name, value in pairs:
        key = name.strip().lower()
        if "\x00" in key or "\x00" in value:
            raise ParseError("NUL character in a parameter")
        if not key:
            continue
        # A body value overrides the query string's, and a later duplicate an earlier empty one.
        if value != "" or key not in params:
            params[key] = value


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(f"{where} is not valid UTF-8")


def _parse_urlencoded(text: str, where: str):
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_PARAMS)
    except UnicodeDecodeError:
        raise ParseError(f"{where} is not valid UTF-8")
    except ValueError:
        raise ParseError(f"{where} has too many parameters")


def _parse_json(body: bytes):
    try:
        data = json.loads(_decode(body, "body"))
    except (ValueError, RecursionError):
        raise ParseError("body is not valid JSON")
    if not isinstance(data, dict):
        raise ParseError("JSON body must be an object")
    pairs = []
    for name, value in data.items():
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float | str):
            value = str(value) if not isinstance(value, float) else repr(value)
        elif isinstance(value, list) and str(name).strip().lower() == "items":
            value = json.dumps(value)  # the order's lines, read by _items
        else:
            continue  # other nested values carry nothing we record
        pairs.append((str(name), value))
    return pairs


def meanings_of_names() -> dict[str, str]:
    """Accepted name -> its meaning. A name read for two meanings (order_id: the conversion id
    when no other is sent, and the order reference) stands for the first."""
    meaning_of: dict[str, str] = {}
    for meaning, names in NAMES.items():
        for name in names:
            meaning_of.setdefault(name, meaning)
    return meaning_of


def pick(params: dict[str, str], meaning: str) -> tuple[str, str]:
    """(name, value) of the first non-empty, non-macro parameter for ``meaning``; ("", "") if none."""
    for name in NAMES[meaning]:
        value = params.get(name, "").strip()
        if value and not _MACRO.match(value):
            return name, value
    return "", ""


def parse_conversion(params: dict[str, str], *, network: str, now: datetime | None = None) -> ConversionData:
    """The conversion a postback describes. Raises ParseError with a short reason."""
    now = now or datetime.now(UTC)
    transaction_id = _id(params, "transaction_id")
    affiliate_id = _id(params, "affiliate_id", max_length=64)
    external_id = _id(params, "external_id")
    if not transaction_id and not external_id:
        raise ParseError("missing transaction_id (or the network's conversion id)")
    return ConversionData(
        transaction_id=transaction_id,
        affiliate_id=affiliate_id,
        external_id=external_id,
        sale_amount=_amount(params, "sale_amount", network),
        network_payout=_amount(params, "network_payout", network),
        status=_status(params),
        currency=_currency(params),
        event_at=_date(params, "event_at", network, now),
        locking_at=_date(params, "locking_at", network, now, allow_future=True),
        promo_code=_id(params, "promo_code", max_length=PROMO_CODE_LENGTH),
        order_ref=pick(params, "order_ref")[1].strip()[:MAX_ID_LENGTH],
        items=_items(params.get("items", ""), network),
    )


# An item's names for each of its values (Impact's v16 sketch sends sku, qty, amt).
ITEM_NAMES = {
    "sku": ("sku", "item_sku", "product_id"),
    "name": ("name", "item_name", "itemname"),
    "category": ("category", "item_category"),
    "quantity": ("quantity", "qty"),
    "sale_amount": ("amount", "amt", "sale_amount", "saleamount"),
    "unit_price": ("price", "unit_price"),
    "network_payout": ("payout", "commission"),
}


def _items(text: str, network: str) -> tuple[ReportedItem, ...]:
    """The order's lines from an ``items`` JSON array of objects (a JSON body, or a query parameter).

    Each line: sku, name, category, quantity (``qty``; default 1), the line's sale
    (``amt``/``amount``, or ``price`` per unit times the quantity) and payout. Raises
    ParseError naming the line.
    """
    text = text.strip()
    if not text or _MACRO.match(text):
        return ()
    try:
        lines = json.loads(text)
    except (ValueError, RecursionError):
        raise ParseError("items is not a JSON array")
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise ParseError("items must be a JSON array of objects")
    if len(lines) > MAX_ITEMS:
        raise ParseError(f"items has more than {MAX_ITEMS} lines")
    return tuple(_item(line, index, network) for index, line in enumerate(lines))


def _item(line: dict, index: int, network: str) -> ReportedItem:
    values = {str(k).strip().lower(): v for k, v in line.items()}

    def value(meaning: str) -> tuple[str, str]:
        for name in ITEM_NAMES[meaning]:
            found = values.get(name)
            if found not in (None, ""):
                if isinstance(found, bool) or not isinstance(found, int | float | str):
                    raise ParseError(f"items[{index}].{name} must be a string or a number")
                return name, found if isinstance(found, str) else format(found)
        return "", ""

    def text(meaning: str, limit: int) -> str:
        name, found = value(meaning)
        if len(found) > limit:
            raise ParseError(f"items[{index}].{name} is longer than {limit} characters")
        return found.strip()

    def amount(meaning: str) -> Decimal | None:
        name, found = value(meaning)
        if not found:
            return None
        try:
            return parse_amount(found, network=network)
        except ParseError as exc:
            raise ParseError(f"items[{index}].{name} {exc}")

    name, qty = value("quantity")
    quantity = 1
    if qty:
        if not (qty.isascii() and qty.isdigit() and 0 < int(qty) <= 100000):
            raise ParseError(f"items[{index}].{name} must be a whole number from 1 to 100000")
        quantity = int(qty)
    sale = amount("sale_amount")
    unit = amount("unit_price")
    if sale is None and unit is not None:
        sale = (unit * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    if sale is not None and sale > MAX_AMOUNT:
        raise ParseError(f"items[{index}] is above the maximum of {MAX_AMOUNT}")
    return ReportedItem(
        sku=text("sku", 100),
        name=text("name", 255),
        category=text("category", 100),
        quantity=quantity,
        sale_amount=sale,
        network_payout=amount("network_payout"),
    )


def _id(params, meaning, max_length=MAX_ID_LENGTH) -> str:
    name, value = pick(params, meaning)
    if not value:
        return ""
    if len(value) > max_length:
        raise ParseError(f"{name} is longer than {max_length} characters")
    if not _ID.match(value):
        raise ParseError(f"{name} has spaces or characters outside printable ASCII")
    return value


def parse_amount(text: str, *, network: str = "generic") -> Decimal:
    """A strict money amount, rounded to cents. Raises ParseError (message without the name)."""
    text = text.strip()
    if network == "shareasale" and _SHAREASALE.match(text):
        text = text.lstrip("$").replace(",", "")
    elif network == "awin" and _AWIN.match(text):
        text = text.replace(",", ".")
    elif not _PLAIN.match(text):
        raise ParseError("is not a plain decimal amount")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ParseError("is not a plain decimal amount")
    if not value.is_finite():
        raise ParseError("is not a finite amount")
    if -value.as_tuple().exponent > 5:
        raise ParseError("has more than 5 decimal places")
    if value > MAX_AMOUNT:
        raise ParseError(f"is above the maximum of {MAX_AMOUNT}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _amount(params, meaning, network) -> Decimal | None:
    name, value = pick(params, meaning)
    if not value:
        return None
    if value.startswith("-"):
        raise ParseError(f"{name} is negative")
    try:
        return parse_amount(value, network=network)
    except ParseError as exc:
        raise ParseError(f"{name} {exc}")


def parse_status(text: str) -> str:
    try:
        return STATUSES[text.strip().lower()]
    except KeyError:
        raise ParseError(f"unknown status {text[:30]!r}")


def _status(params) -> str | None:
    _name, value = pick(params, "status")
    return parse_status(value) if value else None


def _currency(params) -> str:
    name, value = pick(params, "currency")
    if not value:
        return ""
    if not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ParseError(f"{name} must be a 3-letter ISO 4217 code")
    return value.upper()


def parse_date(text: str, *, network: str = "generic") -> datetime:
    """An aware datetime from ISO 8601, 'yyyy-MM-dd HH:mm:ss' or Unix seconds. Raises ParseError."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 11:
        return datetime.fromtimestamp(int(text), tz=UTC)
    if not text.isascii():
        raise ParseError("is not a date")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError("is not a date")
    if value.tzinfo is None:
        if network == "shareasale" and _NAIVE.match(text):
            # ShareASale sends naive US Central times.
            value = value.replace(tzinfo=SHAREASALE_TZ)
        else:
            value = value.replace(tzinfo=UTC)
    return value


def _date(params, meaning, network, now, allow_future=False) -> datetime | None:
    name, value = pick(params, meaning)
    if not value:
        return None
    try:
        when = parse_date(value, network=network)
    except ParseError as exc:
        raise ParseError(f"{name} {exc}")
    except (OverflowError, OSError, ValueError):
        raise ParseError(f"{name} is not a date")
    if when.year < 2000:
        raise ParseError(f"{name} is before 2000")
    if not allow_future and when > now + timedelta(days=1):
        raise ParseError(f"{name} is in the future")
    if when.year > now.year + 2:
        raise ParseError(f"{name} is too far in the future")
    return when


# --- what the brand pastes into the network ------------------------------------------

# Per network: (our parameter name, the network's macro for that value). Impact's macros
# are PascalCase in braces, ShareASale's are !!name!!; Awin and generic networks get
# TUNE-style {placeholders} to swap for their own macro names.
POSTBACK_MACROS = {
    "impact": [
        ("action_id", "{ActionId}"),
        ("subid1", "{SubId1}"),
        ("subid2", "{SubId2}"),
        ("status", "{Status}"),
        ("amount", "{Amount}"),
        ("payout", "{Payout}"),
        ("currency", "{Currency}"),
        ("event_date", "{EventDate}"),
        ("locking_date", "{LockingDate}"),
    ],
    "shareasale": [
        ("afftrack", "!!afftrack!!"),
        ("transID", "!!transID!!"),
        ("amountOfSale", "!!amountOfSale!!"),
        ("commission", "!!commission!!"),
        ("transDate", "!!transDate!!"),
    ],
    "awin": [
        ("clickref2", "{clickref2}"),
        ("order_id", "{order_id}"),
        ("amount", "{amount}"),
        ("commission", "{commission}"),
        ("currency", "{currency}"),
        ("status", "{status}"),
    ],
    "generic": [
        ("transaction_id", "{transaction_id}"),
        ("adv_sub", "{adv_sub}"),
        ("sale_amount", "{sale_amount}"),
        ("payout", "{payout}"),
        ("currency", "{currency}"),
        ("status", "{status}"),
    ],
}
AFFILIATE_PROTOCOL = "server_postback_affiliate_id"


def postback_fields(network: str, protocol: str = "") -> list[tuple[str, str]]:
    """The (parameter, macro) pairs of the postback template for ``network`` and the offer's protocol."""
    fields = list(POSTBACK_MACROS.get(network, POSTBACK_MACROS["generic"]))
    if protocol == AFFILIATE_PROTOCOL:
        # Attribution by member: the network passes back the affiliate id we put in the offer URL.
        if network == "impact":
            fields = [f for f in fields if f[0] != "subid1"]
        elif network == "generic":
            fields = [("aff_id", "{affiliate_id}") if f[0] == "transaction_id" else f for f in fields]
    return fields


def postback_query(network: str, protocol: str = "") -> str:
    """The query string template, macros left literal (networks substitute them as written)."""
    return "&".join(f"{name}={macro}" for name, macro in postback_fields(network, protocol))


def sample_values(
    network: str,
    *,
    protocol: str = "",
    transaction_id: str,
    affiliate_id: str,
    order_id: str,
    currency: str,
    now: datetime,
) -> dict[str, str]:
    """What the network would substitute for each macro, for a test conversion of 100.00 at 10.00 payout."""
    by_meaning = {
        "transaction_id": transaction_id,
        "affiliate_id": affiliate_id,
        "external_id": order_id,
        "sale_amount": "100.00",
        "network_payout": "10.00",
        "status": "PENDING" if network == "impact" else "pending",
        "currency": currency,
        "event_at": now.astimezone(SHAREASALE_TZ).strftime("%Y-%m-%d %H:%M:%S")
        if network == "shareasale"
        else now.isoformat(timespec="seconds"),
        "locking_at": "",
        "order_ref": order_id,
    }
    meaning_of = meanings_of_names()
    values = {}
    for name, _macro in postback_fields(network, protocol):
        meaning = meaning_of.get(name.lower())
        if meaning:
            values[name] = by_meaning[meaning]
    return values
