from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Member portal"

    def ready(self):
        # Make a Payment asks the apps above payments why a member cannot be paid.
        from payments.blocks import register_block
        from portal.selectors import tax_form_block

        register_block(tax_form_block)
