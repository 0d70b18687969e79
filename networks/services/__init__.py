"""Network connections and API syncs.

- connections.py: create and edit connections, check credentials with the network, rotate
  postback secrets and encryption keys.
- runs.py: sync runs, the same for every network (claim, windows and cursors, waits,
  errors, the schedule).
- records.py: storing a page of a network's records through the conversion core, and the
  payouts a network reports.
- impact.py, shareasale.py, awin.py: each network's adapter (its sync kinds and what a run
  of each does), on the clients of the same names one level up (networks/impact.py, ...);
  impact_actions.py reads Impact's Actions for its adapter.

Views, tasks and commands use the names below.
"""

from networks.services.connections import (
    CredentialCheck,
    CredentialError,
    check_impact_credentials,
    default_settlement_day,
    mark_connection_broken,
    parse_allowlist,
    reset_sync_history,
    rotate_credentials_all_workspaces,
    rotate_postback_secret,
    save_connection,
)
from networks.services.impact import poll_click_export
from networks.services.runs import (
    Outcome,
    adapter_for,
    adapters,
    check_since,
    describe_active_run,
    dispatch_due_syncs_all_workspaces,
    execute_sync_run,
    hand_run_to_worker,
    is_syncable,
    overdue_run,
    parse_since,
    request_sync,
    resume_lost_work_all_workspaces,
    start_sync_run,
)

__all__ = [
    "CredentialCheck",
    "CredentialError",
    "Outcome",
    "adapter_for",
    "adapters",
    "check_impact_credentials",
    "check_since",
    "default_settlement_day",
    "describe_active_run",
    "dispatch_due_syncs_all_workspaces",
    "execute_sync_run",
    "hand_run_to_worker",
    "is_syncable",
    "mark_connection_broken",
    "overdue_run",
    "parse_allowlist",
    "parse_since",
    "poll_click_export",
    "request_sync",
    "reset_sync_history",
    "resume_lost_work_all_workspaces",
    "rotate_credentials_all_workspaces",
    "rotate_postback_secret",
    "save_connection",
    "start_sync_run",
]
