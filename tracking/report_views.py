from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.shortcuts import render
from django.utils import timezone

from tracking.models import Click, Conversion, ConversionStatus
from workspaces.decorators import workspace_view


@workspace_view()
def dashboard(request):
    ws = request.workspace
    since = timezone.now() - timedelta(days=30)
    clicks = Click.objects.filter(workspace=ws, created_at__gte=since, is_bot=False).aggregate(
        clicks=Count("id"), unique=Count("id", filter=Q(is_unique=True))
    )
    conversions = (
        Conversion.objects.filter(workspace=ws, event_at__gte=since)
        .exclude(status__in=[ConversionStatus.REJECTED, ConversionStatus.REVERSED])
        .aggregate(n=Count("id"), sales=Sum("sale_amount"), payout=Sum("member_payout"))
    )
    ctx = {"clicks": clicks, "conversions": conversions, "since": since}
    return render(request, "tracking/dashboard.html", ctx)
