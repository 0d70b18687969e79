from django import template
from django.conf import settings

from tracking.postback_params import meanings_of_names, postback_fields, postback_query
from workspaces.public_paths import pixel_path, postback_path

register = template.Library()

MEANINGS = {
    "transaction_id": "our click id (transaction_id)",
    "affiliate_id": "the member's affiliate id",
    "external_id": "the network's conversion id (dedupe key)",
    "sale_amount": "sale amount",
    "network_payout": "your commission",
    "status": "status",
    "currency": "currency",
    "event_at": "event time",
    "locking_at": "locking date",
}

WHERE = {
    "impact": "In impact.com: Settings → Technical → Event Notifications → Action Life Cycle Events, "
    "delivery GET, paste the postback URL.",
    "shareasale": "ShareASale enables affiliate postbacks on request: send this URL to ShareASale support "
    "(GET; optional HTTP Basic auth).",
    "awin": "In Awin: paste the postback URL where the network lets you add a conversion postback, and replace each "
    "{placeholder} with the network's macro for that value.",
    "generic": "Paste the URL into the network's postback (or pixel) settings and replace each {placeholder} "
    "with the network's macro for that value.",
}


@register.simple_tag
def postback_setup(offer, request):
    """The exact URLs and tag a brand gives its network for ``offer``'s connection and protocol."""
    connection = offer.connection
    if connection is None:
        return None
    base = settings.SITE_URL  # the one base URL every printed link uses, whatever host this page came from
    query = postback_query(connection.kind, offer.protocol)
    postback_url = base + postback_path(connection.kind, connection.postback_secret) + "?" + query
    pixel_url = base + pixel_path(connection.postback_secret) + "?" + query
    meaning_of = meanings_of_names()
    return {
        "connection": connection,
        "postback_url": postback_url,
        "pixel_url": pixel_url,
        "pixel_tag": f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:none">',
        "fields": [
            (name, macro, MEANINGS.get(meaning_of.get(name.lower(), ""), ""))
            for name, macro in postback_fields(connection.kind, offer.protocol)
        ],
        "where": WHERE.get(connection.kind, WHERE["generic"]),
        "prefers_pixel": offer.protocol == "https_image_pixel",
    }
