"""Writes of the member portal.

- access.py: inviting members (one or many), one-time sign-in links (issue, email, redeem)
  and the sign-in request form.
- member.py: what a member does (deep links, vanity slug requests, PayPal email changes
  confirmed by email, the tax form, notification choices) and what the brand decides
  (vanity requests, requiring a tax form).
- notifications.py: emails when a member's conversion is approved or a payment is sent,
  read from the outboxes once each.
"""

from portal.services.access import (
    find_sign_in_link,
    invite_member,
    invite_members,
    invite_problem,
    issue_sign_in_link,
    redeem_sign_in_link,
    request_sign_in,
    send_sign_in_email,
)
from portal.services.member import (
    TaxFormProblem,
    confirm_payout_email_change,
    create_deep_link,
    decide_vanity_request,
    find_payout_email_change,
    request_payout_email_change,
    request_vanity,
    rotate_tax_ids_all_workspaces,
    save_tax_form,
    send_payout_email_confirmation,
    update_notifications,
    update_portal_settings,
)
from portal.services.notifications import (
    collect_notifications_all_workspaces,
    send_notifications_all_workspaces,
)

__all__ = [
    "collect_notifications_all_workspaces",
    "send_notifications_all_workspaces",
    "TaxFormProblem",
    "confirm_payout_email_change",
    "create_deep_link",
    "decide_vanity_request",
    "find_payout_email_change",
    "find_sign_in_link",
    "invite_member",
    "invite_members",
    "invite_problem",
    "issue_sign_in_link",
    "redeem_sign_in_link",
    "request_payout_email_change",
    "request_sign_in",
    "request_vanity",
    "rotate_tax_ids_all_workspaces",
    "save_tax_form",
    "send_payout_email_confirmation",
    "send_sign_in_email",
    "update_notifications",
    "update_portal_settings",
]
