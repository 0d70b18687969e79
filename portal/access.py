"""The portal's gate: who is signed in as which member, and the only way portal views fetch a row.

A portal session is not a staff login: it sets two keys of its own in the session
and no Django user, so every staff page (``workspace_view``, ``login_required``)
still sends its visitor to the staff login. Every lookup below starts from the
signed-in member: another member's row, of this workspace or another, is a 404.
"""

from dataclasses import dataclass
from functools import wraps

from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from offers.models import Link
from payments.models import Payment
from portal.models import Person, PortalAccess
from tracking.models import Click, Conversion

PERSON_KEY = "portal_person"
ACCESS_KEY = "portal_access"


@dataclass
class PortalUser:
    person: Person
    access: PortalAccess

    @property
    def member(self):
        return self.access.member

    @property
    def workspace(self):
        return self.access.workspace

    def accesses(self):
        return self.person.accesses.select_related("workspace", "member").order_by("workspace__name")


def current_portal_user(request) -> PortalUser | None:
    person_id = request.session.get(PERSON_KEY)
    access_id = request.session.get(ACCESS_KEY)
    if not person_id or not access_id:
        return None
    access = (
        PortalAccess.objects.select_related("person", "member", "workspace")
        .filter(pk=access_id, person_id=person_id)
        .first()
    )
    if access is None:
        return None
    return PortalUser(person=access.person, access=access)


def start_portal_session(request, access: PortalAccess) -> None:
    """Sign the browser in as ``access``'s person, in ``access``'s workspace (a new session key)."""
    request.session.cycle_key()
    request.session[PERSON_KEY] = access.person_id
    request.session[ACCESS_KEY] = access.pk
    PortalAccess.objects.filter(pk=access.pk).update(last_sign_in_at=timezone.now())


def switch_portal_access(request, access: PortalAccess) -> None:
    request.session[ACCESS_KEY] = access.pk


def end_portal_session(request) -> None:
    request.session.pop(PERSON_KEY, None)
    request.session.pop(ACCESS_KEY, None)
    request.session.cycle_key()


def portal_view(view):
    """A portal page: a portal session required (else the sign-in page), ``request.portal`` set."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = current_portal_user(request)
        if user is None:
            return redirect("portal:sign_in")
        request.portal = user
        return view(request, *args, **kwargs)

    return wrapper


def get_mine(request, model, **lookup):
    """One row of ``model`` belonging to the signed-in member, else 404."""
    source = model._default_manager.all()
    member = request.portal.member
    try:
        return source.get(workspace=member.workspace_id, member=member, **lookup)
    except (source.model.DoesNotExist, source.model.MultipleObjectsReturned, ValueError, TypeError):
        raise Http404("Not found") from None


def get_my_link(request, code):
    return get_mine(request, Link, code=code)


def get_my_conversion(request, code):
    return get_mine(request, Conversion, code=code)


def get_my_click(request, transaction_id):
    return get_mine(request, Click, transaction_id=transaction_id)


def get_my_payment(request, code):
    return get_mine(request, Payment, code=code)


def get_my_access(request, code) -> PortalAccess:
    """Another brand of the signed-in person (for the switcher); anyone else's is a 404."""
    try:
        return request.portal.person.accesses.select_related("workspace").get(code=code)
    except (PortalAccess.DoesNotExist, ValueError):
        raise Http404("Not found") from None
