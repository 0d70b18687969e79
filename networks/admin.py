from django.contrib import admin

from networks.models import ClickExportJob, NetworkClickCount, SyncRun, SyncState


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("connection", "kind", "status", "trigger", "started_at", "finished_at", "created_count")
    list_filter = ("kind", "status", "trigger")
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ("connection", "kind", "cursor_at", "next_run_at")


@admin.register(ClickExportJob)
class ClickExportJobAdmin(admin.ModelAdmin):
    list_display = ("connection", "program_id", "date", "status", "rows", "polls")
    list_filter = ("status",)


@admin.register(NetworkClickCount)
class NetworkClickCountAdmin(admin.ModelAdmin):
    list_display = ("connection", "program_id", "date", "sub_id1", "clicks", "unique_clicks")
