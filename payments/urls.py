from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("payments/", views.overview, name="overview"),
    path("payments/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("payments/card/link/", views.link_card, name="link_card"),
    path("payments/card/unlink/", views.unlink_card, name="unlink_card"),
    path("payments/members/<uuid:code>/", views.member_statement, name="statement"),
    path("payments/settlements/<uuid:code>/", views.settlement_detail, name="settlement"),
    path("payments/settlements/<uuid:code>/receive/", views.receive_settlement, name="receive_settlement"),
    path("payments/settlements/<uuid:code>/confirm/", views.confirm_receipt, name="confirm_receipt"),
    path("payments/pay/", views.make_payment, name="pay"),
    path("payments/pay/confirm/", views.confirm_payment, name="confirm_pay"),
    path("payments/runs/", views.history, name="history"),
    path("payments/runs/<uuid:code>/", views.run_detail, name="run"),
    path("payments/runs/<uuid:code>/approve/", views.approve_run, name="approve_run"),
    path("payments/runs/<uuid:code>/decline/", views.decline_run, name="decline_run"),
    path("payments/two-person/", views.set_two_person_rule, name="two_person"),
    path("payments/items/<uuid:code>/retry/", views.retry_payment, name="retry"),
]
