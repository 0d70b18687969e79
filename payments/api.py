"""REST API for payments to members (read only; payments are made from the Payments Overview)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from offers.models import Member
from payments.models import Payment
from workspaces.access import get_for_input
from workspaces.api_common import CodeField, PageFilter, WorkspaceApiView, paged, paginate, read_query
from workspaces.api_errors import errors


class PaymentOutput(serializers.Serializer):
    code = serializers.UUIDField()
    batch = CodeField()
    member = CodeField()
    member_name = serializers.CharField(source="member.name")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    rail = serializers.CharField()
    status = serializers.CharField()
    status_message = serializers.CharField()
    receiver = serializers.CharField()
    reference = serializers.CharField()
    paid_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()


class PaymentListApi(WorkspaceApiView):
    """Payments to members, newest first, by cursor."""

    class FilterSerializer(PageFilter):
        member = serializers.UUIDField(required=False, help_text="Member code")
        status = serializers.ChoiceField(choices=Payment.Status.choices, required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(PaymentOutput, "PaymentPage"), **errors(400, 422)},
        operation_id="payments_list",
    )
    def get(self, request):
        data = read_query(self.FilterSerializer, request)
        qs = Payment.objects.filter(workspace=request.workspace).select_related("batch", "member")
        if "member" in data:
            qs = qs.filter(member=get_for_input(request.workspace, Member, data["member"], field="member"))
        if "status" in data:
            qs = qs.filter(status=data["status"])
        return paginate(self, request, qs, PaymentOutput)
