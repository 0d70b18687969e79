"""Read-only admin views of the ledger: money changes only through the services."""

from django.contrib import admin

from payments.models import Account, Entry, FundingCard, LedgerTransaction, Payment, PaymentBatch, Settlement


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "kind", "currency", "member", "connection", "balance")
    list_filter = ("kind", "currency")


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("key", "workspace", "kind", "memo", "created_at")
    list_filter = ("kind",)
    search_fields = ("key", "memo")
    inlines = [EntryInline]


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "connection", "expected_on", "currency", "expected_amount", "status")
    list_filter = ("status",)


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "rail", "currency", "total", "status", "created_at")
    list_filter = ("rail", "status")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "member", "amount", "currency", "rail", "status", "created_at")
    list_filter = ("rail", "status")


@admin.register(FundingCard)
class FundingCardAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "label", "last4", "currency", "monthly_limit")
