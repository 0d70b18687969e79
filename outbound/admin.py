from django.contrib import admin

from outbound.models import Attempt, Delivery, MemberPostback, Message, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "workspace", "status", "failing_since", "created_at")
    list_filter = ("status",)
    exclude = ("secrets_encrypted",)


@admin.register(MemberPostback)
class MemberPostbackAdmin(admin.ModelAdmin):
    list_display = ("member", "url", "workspace", "status", "failing_since")
    list_filter = ("status",)
    raw_id_fields = ("member",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("topic", "workspace", "created_at")
    list_filter = ("topic",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("topic", "workspace", "status", "attempts", "next_attempt_at", "last_status_code")
    list_filter = ("status", "topic")
    raw_id_fields = ("endpoint", "postback", "message", "resend_of")


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("delivery", "status_code", "error", "duration_ms", "created_at")
    raw_id_fields = ("delivery",)
