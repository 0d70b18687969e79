from django.contrib import admin

from risk.models import Case, RiskSettings, Verdict


@admin.register(Verdict)
class VerdictAdmin(admin.ModelAdmin):
    list_display = ("conversion", "rule", "reason", "created_at")
    list_filter = ("rule",)
    raw_id_fields = ("conversion",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("conversion", "status", "opened_at", "decided_by", "decided_at")
    list_filter = ("status",)
    raw_id_fields = ("conversion",)


admin.site.register(RiskSettings)
