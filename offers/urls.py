from django.urls import path

from offers import promo_views, rule_views, views

app_name = "offers"
# The offer and member pages themselves show clicks and earnings: tracking/urls.py serves them.
urlpatterns = [
    # Projects
    path("projects/", views.project_list, name="project_list"),
    path("projects/new/", views.add_project, name="add_project"),
    path("projects/<uuid:code>/edit/", views.edit_project, name="edit_project"),
    path("projects/<uuid:code>/archive/", views.archive_project, name="archive_project"),
    path("projects/<uuid:code>/restore/", views.restore_project, name="restore_project"),
    # Members (the list and its CSV are in reports/list_views.py, with their figures)
    path("members/new/", views.add_member, name="add_member"),
    path("members/import/", views.import_members, name="import_members"),
    path("members/promo-codes/import/", promo_views.import_promo_codes, name="import_promo_codes"),
    path("members/promo-codes/export.csv", promo_views.export_promo_codes, name="export_promo_codes"),
    path("members/<uuid:code>/promo-codes/", promo_views.add_promo_code, name="add_promo_code"),
    path("promo-codes/<uuid:code>/delete/", promo_views.delete_promo_code, name="delete_promo_code"),
    path("members/<uuid:code>/edit/", views.edit_member, name="edit_member"),
    path("members/<uuid:code>/archive/", views.archive_member, name="archive_member"),
    path("members/<uuid:code>/restore/", views.restore_member, name="restore_member"),
    # Offers
    path("offers/", views.offer_list, name="offer_list"),
    path("offers/new/", views.new_offer, name="new_offer"),
    path("offers/new/link-tracking/", views.add_offer, name="add_offer"),
    path("offers/preview/", views.offer_preview, name="offer_preview"),
    path("offers/network-params/", views.offer_network_params, name="offer_network_params"),
    path("offers/<uuid:code>/edit/", views.edit_offer, name="edit_offer"),
    path("offers/<uuid:code>/pause/", views.pause_offer, name="pause_offer"),
    path("offers/<uuid:code>/resume/", views.resume_offer, name="resume_offer"),
    path("offers/<uuid:code>/archive/", views.archive_offer, name="archive_offer"),
    path("offers/<uuid:code>/restore/", views.restore_offer, name="restore_offer"),
    path("offers/<uuid:code>/overrides/", views.add_override, name="add_override"),
    path("offers/<uuid:code>/overrides/<uuid:member_code>/delete/", views.remove_override, name="remove_override"),
    path("offers/<uuid:code>/payout-rules/", rule_views.add_payout_rule, name="add_payout_rule"),
    path("payout-rules/<uuid:code>/up/", rule_views.move_payout_rule_up, name="move_payout_rule_up"),
    path("payout-rules/<uuid:code>/delete/", rule_views.delete_payout_rule, name="delete_payout_rule"),
    # Links (the list and its CSV are in reports/list_views.py, with their figures)
    path("links/new/", views.add_links, name="add_links"),
    path("links/<str:code>/qr.png", views.link_qr_png, name="link_qr_png"),
    path("links/<str:code>/qr.svg", views.link_qr_svg, name="link_qr_svg"),
    path("links/<str:code>/archive/", views.archive_link, name="archive_link"),
]
