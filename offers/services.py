"""Writes for projects, members, offers and links.

Every function takes keyword-only arguments, starts from a workspace (or an
object already fetched through workspaces/access.py) and raises DomainError
with a message fit for the user when a business rule says no.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from offers import lib
from offers.models import (
    Link,
    Member,
    Offer,
    PayoutOverride,
    PayoutType,
    Project,
    Protocol,
)
from workspaces.csv_export import unescape_cell
from workspaces.errors import DomainError
from workspaces.models import Workspace
from workspaces.public_paths import VANITY_REGEX

# --- Offer URL rules -------------------------------------------------------

VANITY_RE = re.compile(rf"^{VANITY_REGEX}$")


def offer_url_problems(url: str, *, protocol: str = "", required: bool = True) -> list[str]:
    """What is wrong with an offer or fallback URL, as sentences (empty when fine)."""
    if not url:
        return ["Enter a URL."] if required else []
    problems = []
    if len(url) > 2000:
        return ["The URL is longer than 2,000 characters."]
    if any(ch.isspace() for ch in url) or "\\" in url:
        return ["The URL must not contain spaces or backslashes."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return ["This URL cannot be parsed."]
    if parts.scheme.lower() != "https":
        problems.append("The URL must start with https://.")
    if not parts.hostname:
        problems.append("The URL needs a host name, e.g. https://shop.example.com/.")
    if parts.username or parts.password:
        problems.append("The URL must not carry a user name or password.")
    unknown = lib.unknown_macros(url)
    if unknown:
        names = ", ".join("{" + m + "}" for m in unknown)
        known = ", ".join("{" + m + "}" for m in sorted(lib.MACROS))
        problems.append(f"Unknown macro(s): {names}. Known macros: {known}.")
    for needed in lib.missing_macros(url, protocol):
        label = Protocol(protocol).label
        problems.append(f"{label} needs {{{needed}}} in the offer URL so conversions can be matched to clicks.")
    return problems


def append_network_params(*, url: str, kind: str) -> str:
    """The offer URL with the network's tracking parameters added where missing.

    A URL that cannot be parsed is returned as it is; the form then says what is wrong with it.
    """
    try:
        return lib.add_tracking_params(url, kind)
    except ValueError:
        return url


def domain_problems(allowed_domains: str) -> list[str]:
    return [
        f"'{entry}' is not a host name (use shop.example.com or *.example.com)."
        for entry in lib.parse_domain_list(allowed_domains)
        if lib.normalise_domain_entry(entry) is None
    ]


# --- Projects ---------------------------------------------------------------


def _save_project(project: Project, fields: list[str]) -> Project:
    try:
        with transaction.atomic():
            if project.pk:
                project.save(update_fields=[*fields, "updated_at"])
            else:
                project.save()
    except IntegrityError:
        raise DomainError(f"A project named '{project.name}' already exists.") from None
    return project


def create_project(*, workspace: Workspace, name: str, description: str = "") -> Project:
    return _save_project(Project(workspace=workspace, name=name.strip(), description=description), [])


def update_project(*, project: Project, name: str, description: str = "") -> Project:
    project.name = name.strip()
    project.description = description
    return _save_project(project, ["name", "description"])


def archive_project(*, project: Project) -> Project:
    project.archived_at = project.archived_at or timezone.now()
    project.save(update_fields=["archived_at", "updated_at"])
    return project


def restore_project(*, project: Project) -> Project:
    project.archived_at = None
    project.save(update_fields=["archived_at", "updated_at"])
    return project


# --- Members ----------------------------------------------------------------

MEMBER_FIELDS = ("name", "email", "handle", "paypal_email", "project", "is_test")


def _check_project(workspace: Workspace, project: Project | None) -> None:
    if project is not None and project.workspace_id != workspace.id:
        raise DomainError("Project not found.")


def _save_member(member: Member, fields: list[str] | None = None) -> Member:
    try:
        with transaction.atomic():
            if fields is None:
                member.save()
            else:
                member.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise DomainError(f"Another member already uses {member.email}.") from None
    return member


def create_member(
    *,
    workspace: Workspace,
    name: str,
    email: str = "",
    handle: str = "",
    paypal_email: str = "",
    project: Project | None = None,
    is_test: bool = False,
) -> Member:
    _check_project(workspace, project)
    member = Member(
        workspace=workspace,
        name=name.strip(),
        email=email.strip().lower(),
        handle=handle.strip(),
        paypal_email=paypal_email.strip(),
        project=project,
        is_test=is_test,
    )
    return _save_member(member)


def update_member(*, member: Member, **changes) -> Member:
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"unknown member fields: {sorted(unknown)}")
    _check_project(member.workspace, changes.get("project"))
    for name, value in changes.items():
        if name in ("email", "paypal_email", "name", "handle"):
            value = value.strip()
        if name == "email":
            value = value.lower()
        setattr(member, name, value)
    return _save_member(member, list(changes))


def archive_member(*, member: Member) -> Member:
    member.status = Member.Status.ARCHIVED
    member.save(update_fields=["status", "updated_at"])
    return member


def restore_member(*, member: Member) -> Member:
    member.status = Member.Status.ACTIVE
    member.save(update_fields=["status", "updated_at"])
    return member


# CSV import ------------------------------------------------------------------

IMPORT_COLUMNS = ("name", "email", "handle", "paypal_email", "project", "is_test")
# Columns of the members CSV export that an import accepts and ignores (a round trip works).
IMPORT_IGNORED_COLUMNS = ("affiliate_id", "status")
IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 2 * 1024 * 1024
TRUE_WORDS = {"1", "true", "yes", "y", "x"}
FALSE_WORDS = {"", "0", "false", "no", "n"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    # (line number in the file, message); empty when the import went through.
    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    if len(data) > IMPORT_MAX_BYTES:
        raise DomainError(f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text; export it from your spreadsheet as 'CSV UTF-8'.") from None
    if not text.strip():
        raise DomainError("The file is empty. The first line must be the header: " + ",".join(IMPORT_COLUMNS))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= IMPORT_MAX_ROWS:
                raise DomainError(f"The file has more than {IMPORT_MAX_ROWS} rows; split it.")
            rows.append((reader.line_num, values))
    except csv.Error as e:
        raise DomainError(f"The file is not valid CSV: {e}.") from None
    unknown = [h for h in header if h not in IMPORT_COLUMNS + IMPORT_IGNORED_COLUMNS]
    if "name" not in header or unknown or len(set(header)) != len(header):
        raise DomainError(
            "The first line must be a header with these columns (name required, others optional): "
            + ",".join(IMPORT_COLUMNS)
            + (f". Unknown: {', '.join(unknown)}" if unknown else "")
            + "."
        )
    parsed = []
    for line, values in rows:
        if len(values) != len(header):
            parsed.append((line, {"_error": f"expected {len(header)} values, found {len(values)}"}))
            continue
        # unescape_cell: a members export defused formula-like names with a quote; take it off again.
        parsed.append((line, {h: unescape_cell(v.strip()) for h, v in zip(header, values, strict=True)}))
    return header, parsed


def _validate_import_row(row: dict, projects: dict[str, Project]) -> tuple[dict, list[str]]:
    errors = []
    if "_error" in row:
        return {}, [row["_error"]]
    clean = {"name": row.get("name", ""), "handle": row.get("handle", "")}
    if not clean["name"]:
        errors.append("name is required")
    elif len(clean["name"]) > 120:
        errors.append("name is longer than 120 characters")
    if len(clean["handle"]) > 80:
        errors.append("handle is longer than 80 characters")
    for col in ("email", "paypal_email"):
        value = row.get(col, "")
        if value:
            try:
                EmailValidator()(value)
            except ValidationError:
                errors.append(f"{col} '{value}' is not a valid email address")
        clean[col] = value.lower() if col == "email" else value
    if "project" in row:
        name = row["project"]
        if name and name.lower() not in projects:
            errors.append(f"project '{name}' does not exist (create it first)")
        clean["project"] = projects.get(name.lower()) if name else None
    if "is_test" in row:
        flag = row["is_test"].lower()
        if flag not in TRUE_WORDS | FALSE_WORDS:
            errors.append(f"is_test '{row['is_test']}' must be yes/no, true/false or 1/0")
        clean["is_test"] = flag in TRUE_WORDS
    return clean, errors


def import_members(*, workspace: Workspace, data: bytes) -> ImportReport:
    """Import members from CSV bytes: all rows or none.

    1. Parse and validate every row (header required, known columns only).
    2. If any row has a problem, report each one with its line number and write nothing.
    3. Otherwise, in one transaction, update members whose email already exists in the
       workspace (only the columns present in the file) and create the rest.
    """
    header, rows = _read_csv(data)
    report = ImportReport(rows=len(rows))
    if not rows:
        raise DomainError("The file has a header but no members.")
    projects = {p.name.lower(): p for p in Project.objects.filter(workspace=workspace, archived_at=None)}
    seen_emails: dict[str, int] = {}
    cleaned = []
    for line, row in rows:
        clean, errors = _validate_import_row(row, projects)
        email = clean.get("email", "")
        if email and email in seen_emails:
            errors.append(f"email {email} also appears on line {seen_emails[email]}")
        elif email:
            seen_emails[email] = line
        report.errors.extend((line, e) for e in errors)
        cleaned.append(clean)
    if report.errors:
        return report
    existing = {m.email: m for m in Member.objects.filter(workspace=workspace, email__in=[c["email"] for c in cleaned])}
    columns = [c for c in header if c in IMPORT_COLUMNS and c != "email"]
    with transaction.atomic():
        for clean in cleaned:
            member = existing.get(clean.get("email", "")) if clean.get("email") else None
            if member is None:
                create_member(workspace=workspace, **clean)
                report.created += 1
            else:
                update_member(member=member, **{c: clean[c] for c in columns})
                report.updated += 1
    return report


# --- Offers -----------------------------------------------------------------

OFFER_FIELDS = (
    "name",
    "description",
    "conversion_type",
    "payout_type",
    "payout_flat",
    "payout_percent",
    "currency",
    "protocol",
    "connection",
    "offer_url",
    "fallback_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "allowed_domains",
    "starts_at",
    "ends_at",
    "allow_multiple_conversions",
)


def payout_problems(*, payout_type: str, payout_flat, payout_percent) -> dict[str, str]:
    """Field name -> problem, for a payout option and its values."""
    problems = {}
    needs_flat = payout_type in (PayoutType.FLAT, PayoutType.FLAT_PERCENT)
    needs_percent = payout_type in (PayoutType.PERCENT, PayoutType.FLAT_PERCENT)
    if payout_type not in PayoutType.values:
        problems["payout_type"] = "Choose a payout option."
    if payout_flat is not None and payout_flat < 0:
        problems["payout_flat"] = "The flat amount cannot be negative."
    elif needs_flat and not payout_flat:
        problems["payout_flat"] = "Enter the flat amount per conversion (more than 0)."
    if payout_percent is not None and not (Decimal(0) <= payout_percent <= Decimal(100)):
        problems["payout_percent"] = "The percentage must be between 0 and 100."
    elif needs_percent and not payout_percent:
        problems["payout_percent"] = "Enter the percent of the sale amount (more than 0)."
    return problems


def offer_problems(values: dict) -> dict[str, list[str]]:
    """Field name -> problems for a whole offer; empty when it can be saved."""
    problems: dict[str, list[str]] = {}

    def add(name, messages):
        if messages:
            problems.setdefault(name, []).extend(messages)

    if not (values.get("name") or "").strip():
        add("name", ["Give the offer a name."])
    add("offer_url", offer_url_problems(values.get("offer_url") or "", protocol=values.get("protocol") or ""))
    fallback = values.get("fallback_url") or ""
    add("fallback_url", [p for p in offer_url_problems(fallback, required=False) if "macro" not in p])
    if fallback and lib.find_macros(fallback):
        add("fallback_url", ["The fallback URL is used without tracking; it cannot contain macros."])
    add("allowed_domains", domain_problems(values.get("allowed_domains") or ""))
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts and ends and ends <= starts:
        add("ends_at", ["The end must be after the start."])
    for name, message in payout_problems(
        payout_type=values.get("payout_type") or "",
        payout_flat=values.get("payout_flat"),
        payout_percent=values.get("payout_percent"),
    ).items():
        add(name, [message])
    return problems


def _apply_offer_fields(offer: Offer, workspace: Workspace, fields: dict) -> list[str]:
    unknown = set(fields) - set(OFFER_FIELDS)
    if unknown:
        raise TypeError(f"unknown offer fields: {sorted(unknown)}")
    connection = fields.get("connection")
    if connection is not None and connection.workspace_id != workspace.id:
        raise DomainError("Network connection not found.")
    merged = {name: getattr(offer, name) for name in OFFER_FIELDS} | fields
    problems = offer_problems(merged)
    if problems:
        raise DomainError(" ".join(p for ps in problems.values() for p in ps))
    for name, value in fields.items():
        if value is None and name in ("payout_flat", "payout_percent"):
            value = Decimal("0")
        if (
            value is None
            and name in ("description", "fallback_url", "allowed_domains")
            or (value is None and name.startswith("utm_"))
        ):
            value = ""
        setattr(offer, name, value)
    return list(fields)


def create_offer(*, workspace: Workspace, **fields) -> Offer:
    offer = Offer(workspace=workspace)
    if "currency" not in fields or not fields["currency"]:
        connection = fields.get("connection")
        fields["currency"] = connection.currency if connection else workspace.currency
    _apply_offer_fields(offer, workspace, fields)
    offer.save()
    return offer


def update_offer(*, offer: Offer, **fields) -> Offer:
    changed = _apply_offer_fields(offer, offer.workspace, fields)
    offer.save(update_fields=[*changed, "updated_at"])
    return offer


def pause_offer(*, offer: Offer) -> Offer:
    offer.paused = True
    offer.save(update_fields=["paused", "updated_at"])
    return offer


def resume_offer(*, offer: Offer) -> Offer:
    if offer.archived_at:
        raise DomainError("This offer is archived; restore it before resuming.")
    offer.paused = False
    offer.save(update_fields=["paused", "updated_at"])
    return offer


def archive_offer(*, offer: Offer) -> Offer:
    """Archive: hidden from lists and paused, so its links send visitors to the fallback URL."""
    offer.archived_at = offer.archived_at or timezone.now()
    offer.paused = True
    offer.save(update_fields=["archived_at", "paused", "updated_at"])
    return offer


def restore_offer(*, offer: Offer) -> Offer:
    offer.archived_at = None
    offer.save(update_fields=["archived_at", "updated_at"])
    return offer


def set_payout_override(
    *, offer: Offer, member: Member, payout_type: str, payout_flat=None, payout_percent=None
) -> PayoutOverride:
    if member.workspace_id != offer.workspace_id:
        raise DomainError("Member not found.")
    problems = payout_problems(payout_type=payout_type, payout_flat=payout_flat, payout_percent=payout_percent)
    if problems:
        raise DomainError(" ".join(problems.values()))
    override, _ = PayoutOverride.objects.update_or_create(
        offer=offer,
        member=member,
        defaults={
            "workspace": offer.workspace,
            "payout_type": payout_type,
            "payout_flat": payout_flat or Decimal("0"),
            "payout_percent": payout_percent or Decimal("0"),
        },
    )
    return override


def remove_payout_override(*, offer: Offer, member: Member) -> int:
    deleted, _ = PayoutOverride.objects.filter(offer=offer, member=member).delete()
    return deleted


def preview_destination(*, offer: Offer, member: Member | None = None, deep_url: str = "") -> str:
    """Where a click on a link of ``offer`` would land, for a sample member and click.

    ``offer`` may be unsaved (the form being filled in). Raises DomainError for a deep
    link outside the offer's allowed domains.
    """
    values = {"affiliate_id": member.affiliate_id} if member else {}
    if offer.pk:
        values["offer_id"] = str(offer.code)
    try:
        return lib.preview_destination(
            offer_url=offer.offer_url,
            network=lib.offer_network(offer),
            utm=lib.offer_utm(offer),
            allowed_domains=offer.allowed_domains,
            deep_url=deep_url or None,
            values=values,
        )
    except ValueError as e:
        raise DomainError(str(e)) from None


# --- Links ------------------------------------------------------------------


def link_url(link: Link) -> str:
    return link.url


def deep_link_problems(*, offer: Offer, destination_url: str) -> list[str]:
    if not destination_url:
        return []
    if not offer.allowed_domain_list:
        return ["This offer allows no deep links: add allowed domains to the offer first."]
    if not lib.is_allowed_destination(destination_url, offer.allowed_domain_list):
        allowed = ", ".join(offer.allowed_domain_list)
        return [f"Deep links for this offer must be https/http URLs on: {allowed}."]
    return []


def vanity_problems(vanity: str) -> list[str]:
    if not vanity:
        return []
    if not VANITY_RE.match(vanity):
        return [
            "A vanity slug is 3-50 lower-case letters, digits and dashes, starting with a letter or digit "
            "(e.g. ava-spring)."
        ]
    # A vanity shares the /c/ namespace with link codes.
    if Link.objects.filter(vanity=vanity).exists() or Link.objects.filter(code=vanity).exists():
        return [f"The vanity slug '{vanity}' is taken; choose another."]
    return []


@dataclass
class GenerateReport:
    created: list[Link] = field(default_factory=list)
    skipped: list[Member] = field(default_factory=list)


@transaction.atomic
def generate_links(
    *,
    offer: Offer,
    members: list[Member],
    destination_url: str = "",
    vanity: str = "",
    subs: dict[str, str] | None = None,
    allow_duplicates: bool = False,
) -> GenerateReport:
    """Give each member a link to ``offer``.

    A member who already has a plain link (no deep link, vanity or sub-ids) for the
    offer is skipped unless ``allow_duplicates``; links with a deep link, vanity or
    sub-ids are always new. Archived members and other workspaces' members are refused.
    """
    subs = {k: (v or "").strip() for k, v in (subs or {}).items() if k in ("sub1", "sub2", "sub3", "sub4", "sub5")}
    vanity = (vanity or "").strip()
    destination_url = (destination_url or "").strip()
    if offer.archived_at:
        raise DomainError("This offer is archived; restore it to create links.")
    if not members:
        raise DomainError("Choose at least one member.")
    if vanity and len(members) != 1:
        raise DomainError("A vanity slug belongs to one link: choose a single member.")
    for member in members:
        if member.workspace_id != offer.workspace_id:
            raise DomainError("Member not found.")
    problems = deep_link_problems(offer=offer, destination_url=destination_url) + vanity_problems(vanity)
    if problems:
        raise DomainError(" ".join(problems))
    # Serialise generation per offer so two simultaneous "generate" clicks cannot both
    # decide a member has no link yet and give them two.
    Offer.objects.select_for_update().filter(pk=offer.pk).first()
    plain = not (destination_url or vanity or any(subs.values()))
    has_plain = set()
    if plain and not allow_duplicates:
        has_plain = set(
            Link.objects.filter(
                offer=offer,
                member__in=members,
                archived_at=None,
                destination_url="",
                vanity=None,
                sub1="",
                sub2="",
                sub3="",
                sub4="",
                sub5="",
            ).values_list("member_id", flat=True)
        )
    report = GenerateReport()
    for member in members:
        if member.status != Member.Status.ACTIVE:
            report.skipped.append(member)
            continue
        if member.id in has_plain:
            report.skipped.append(member)
            continue
        link = Link(
            workspace=offer.workspace,
            offer=offer,
            member=member,
            destination_url=destination_url,
            vanity=vanity or None,
            **subs,
        )
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:
            if vanity:
                raise DomainError(f"The vanity slug '{vanity}' is taken; choose another.") from None
            link.code = Link._meta.get_field("code").default()  # a random code collided: draw again
            link.save()
        report.created.append(link)
    return report


def archive_link(*, link: Link) -> Link:
    link.archived_at = link.archived_at or timezone.now()
    link.save(update_fields=["archived_at", "updated_at"])
    return link


def link_qr_png(link: Link) -> bytes:
    image = qrcode.make(link_url(link), box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def link_qr_svg(link: Link) -> bytes:
    image = qrcode.make(link_url(link), image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
