from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated(name: str, to: list[str], ctx: dict) -> None:
    """Send ``templates/emails/<name>-{subject,body-text,body-html}.html``."""
    subject = render_to_string(f"emails/{name}-subject.html", ctx).strip()
    text = render_to_string(f"emails/{name}-body-text.html", ctx)
    html = render_to_string(f"emails/{name}-body-html.html", ctx)
    msg = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    msg.attach_alternative(html, "text/html")
    msg.send()
