from django.apps import AppConfig


class CpcConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cpc"
    verbose_name = "Paid clicks"
