"""Writes of the outbound app: what the hub sends out, and to whom.

- messages.py: outbox rows (conversion events, workspace events) become messages, and
  messages become deliveries to the endpoints and member postbacks that want them.
- delivery.py: the engine both kinds of target share: per-target order, the private-address
  check at send time, signatures, backoff with jitter, the attempt log, disabling and resending.
- webhooks.py: webhook endpoints, their secrets and test events.
- alerts.py: the alert rules (tracking loss, postback trouble, sync trouble, money, broken
  links) and opening, keeping and closing alerts; the owner's thresholds.
- linkcheck.py: the link monitor that follows offer URLs through their redirects.
- pruning.py: deleting old deliveries, events, link checks and closed alerts.
- postbacks.py: members' own postback URLs (for the brand's member page and the member portal).

Views, tasks and the portal use the names below (``from outbound import services``).
"""

from outbound.services.alerts import (
    evaluate_alerts,
    evaluate_alerts_all_workspaces,
    settings_for,
    update_alert_settings,
)
from outbound.services.delivery import (
    deliver_target,
    disable_target,
    resend_delivery,
    wake_due_targets_all_workspaces,
)
from outbound.services.linkcheck import check_links_all_workspaces, check_offer_links, latest_checks
from outbound.services.messages import pump_outbox_all_workspaces
from outbound.services.postbacks import (
    add_member_postback,
    get_member_delivery,
    get_member_postback,
    list_member_deliveries,
    remove_member_postback,
    replay_member_delivery,
    send_test_postback,
    set_member_postback_enabled,
    update_member_postback,
)
from outbound.services.pruning import prune_outbound_all_workspaces
from outbound.services.webhooks import (
    create_endpoint,
    delete_endpoint,
    disable_endpoint,
    enable_target,
    rotate_secret,
    send_test_event,
    signing_secrets,
    update_endpoint,
)

__all__ = [
    "check_links_all_workspaces",
    "check_offer_links",
    "evaluate_alerts",
    "evaluate_alerts_all_workspaces",
    "latest_checks",
    "settings_for",
    "update_alert_settings",
    "add_member_postback",
    "get_member_delivery",
    "get_member_postback",
    "list_member_deliveries",
    "remove_member_postback",
    "replay_member_delivery",
    "send_test_postback",
    "set_member_postback_enabled",
    "update_member_postback",
    "create_endpoint",
    "delete_endpoint",
    "deliver_target",
    "disable_endpoint",
    "disable_target",
    "enable_target",
    "prune_outbound_all_workspaces",
    "pump_outbox_all_workspaces",
    "resend_delivery",
    "rotate_secret",
    "send_test_event",
    "signing_secrets",
    "update_endpoint",
    "wake_due_targets_all_workspaces",
]
