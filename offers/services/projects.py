"""Projects: create, rename, archive and restore."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from offers.models import Project
from workspaces.errors import DomainError
from workspaces.models import Workspace


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
