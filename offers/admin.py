from django.contrib import admin

from offers.models import Link, Member, NetworkConnection, Offer, PayoutOverride, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "archived_at", "created_at")
    search_fields = ("name",)
    list_select_related = ("workspace",)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "affiliate_id", "workspace", "project", "status", "is_test")
    list_filter = ("status", "is_test")
    search_fields = ("name", "email", "handle", "affiliate_id")
    readonly_fields = ("code", "affiliate_id")
    raw_id_fields = ("project",)
    list_select_related = ("workspace", "project")


class PayoutOverrideInline(admin.TabularInline):
    model = PayoutOverride
    extra = 0
    raw_id_fields = ("member",)


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "payout_type", "protocol", "connection", "paused", "archived_at")
    list_filter = ("payout_type", "protocol", "paused")
    search_fields = ("name",)
    readonly_fields = ("code",)
    raw_id_fields = ("connection",)
    list_select_related = ("workspace", "connection")
    inlines = [PayoutOverrideInline]


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ("code", "vanity", "offer", "member", "workspace", "archived_at", "created_at")
    search_fields = ("code", "vanity", "member__name", "offer__name")
    raw_id_fields = ("offer", "member")
    list_select_related = ("workspace", "offer", "member")


@admin.register(NetworkConnection)
class NetworkConnectionAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "workspace", "status", "currency")
    list_filter = ("kind", "status")
    search_fields = ("label",)
    # Secrets never show in the admin: rotate and re-enter them on the Networks page.
    exclude = ("postback_secret", "credentials_encrypted", "basic_auth_password_hash")
    readonly_fields = ("code",)
