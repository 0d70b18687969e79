from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_months_ahead(sender, using="default", **kwargs):
    """Every migrate also creates the months ahead, so a hub whose beat is not running yet
    starts with this month's partitions and the next three (tracking/partitions.py)."""
    from tracking import partitions

    if using == "default":
        partitions.ensure_partitions()


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self):
        post_migrate.connect(create_months_ahead, sender=self, dispatch_uid="tracking-months-ahead")
