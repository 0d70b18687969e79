"""Writes for projects, members, offers and links.

Every function takes keyword-only arguments, starts from a workspace (or an
object already fetched through workspaces/access.py) and raises DomainError
with a message fit for the user when a business rule says no.

- projects.py: create, rename, archive and restore a project.
- members.py: create, edit, archive and restore a member; import members from CSV.
- offers.py: the offer URL rules (protocol macros, network parameters, allowed
  domains), create and edit an offer, pause, resume, archive, restore, payout
  overrides, the destination preview.
- payout_rules.py: an offer's payouts per SKU or category, in the order they are tried.
- promo_codes.py: give members promo codes, retire them, import them from CSV.
- links.py: generate members' links (deep links, vanity slugs, sub-ids), archive
  them, their URL and QR codes.

Views, forms and the API use the names below (``from offers import services``).
"""

from offers.services.links import (
    archive_link,
    deep_link_problems,
    generate_links,
    link_qr_png,
    link_qr_svg,
    link_url,
    vanity_problems,
)
from offers.services.members import (
    IMPORT_COLUMNS,
    IMPORT_IGNORED_COLUMNS,
    MEMBER_FIELDS,
    archive_member,
    create_member,
    import_members,
    restore_member,
    update_member,
)
from offers.services.offers import (
    OFFER_FIELDS,
    append_network_params,
    archive_offer,
    create_offer,
    offer_problems,
    offer_url_problems,
    pause_offer,
    payout_problems,
    preview_destination,
    remove_payout_override,
    restore_offer,
    resume_offer,
    set_payout_override,
    update_offer,
)
from offers.services.payout_rules import (
    add_payout_rule,
    delete_payout_rule,
    move_payout_rule_up,
    payout_rule_problems,
)
from offers.services.projects import (
    archive_project,
    create_project,
    restore_project,
    update_project,
)
from offers.services.promo_codes import (
    create_promo_code,
    delete_promo_code,
    import_promo_codes,
    promo_code_problem,
)

__all__ = [
    "IMPORT_COLUMNS",
    "IMPORT_IGNORED_COLUMNS",
    "MEMBER_FIELDS",
    "OFFER_FIELDS",
    "append_network_params",
    "add_payout_rule",
    "archive_link",
    "archive_member",
    "archive_offer",
    "archive_project",
    "create_member",
    "create_offer",
    "create_project",
    "create_promo_code",
    "delete_promo_code",
    "import_promo_codes",
    "promo_code_problem",
    "deep_link_problems",
    "delete_payout_rule",
    "generate_links",
    "import_members",
    "link_qr_png",
    "link_qr_svg",
    "link_url",
    "move_payout_rule_up",
    "offer_problems",
    "offer_url_problems",
    "pause_offer",
    "payout_problems",
    "payout_rule_problems",
    "preview_destination",
    "remove_payout_override",
    "restore_member",
    "restore_offer",
    "restore_project",
    "resume_offer",
    "set_payout_override",
    "update_member",
    "update_offer",
    "update_project",
    "vanity_problems",
]
