"""Members: create, edit, archive and restore one, or import many from CSV."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from offers.models import Member, Project
from workspaces.csv_export import unescape_cell
from workspaces.errors import DomainError
from workspaces.models import Workspace

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
# Columns of the members CSV export that an import accepts and ignores (a round trip works): the
# affiliate id and status, and the period's figures the Members list adds to each row.
IMPORT_IGNORED_COLUMNS = ("affiliate_id", "status", "clicks", "conversions", "earnings", "currency")
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


def read_csv(
    data: bytes, *, columns=IMPORT_COLUMNS, ignored=IMPORT_IGNORED_COLUMNS, required=("name",)
) -> tuple[list[str], list[tuple[int, dict]]]:
    """(header, [(line number, {column: value})]) of an uploaded CSV, checked against ``columns``.

    A row with the wrong number of values comes back as {"_error": why}. Raises DomainError
    when the file as a whole cannot be read (size, encoding, header).
    """
    if len(data) > IMPORT_MAX_BYTES:
        raise DomainError(f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text; export it from your spreadsheet as 'CSV UTF-8'.") from None
    if not text.strip():
        raise DomainError("The file is empty. The first line must be the header: " + ",".join(columns))
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
    unknown = [h for h in header if h not in (*columns, *ignored)]
    if any(c not in header for c in required) or unknown or len(set(header)) != len(header):
        raise DomainError(
            f"The first line must be a header with these columns ({', '.join(required)} required, others optional): "
            + ",".join(columns)
            + (f". Unknown: {', '.join(unknown)}" if unknown else "")
            + "."
        )
    parsed = []
    for line, values in rows:
        if len(values) != len(header):
            parsed.append((line, {"_error": f"expected {len(header)} values, found {len(values)}"}))
            continue
        # unescape_cell: an export defused formula-like values with a quote; take it off again.
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
    header, rows = read_csv(data)
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
