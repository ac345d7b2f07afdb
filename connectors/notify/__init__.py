"""Owner and team notifications: e-mail over SMTP and Slack incoming webhooks, rendered from Jinja2 templates."""

from connectors.notify.message import Notice, Rendered
from connectors.notify.slack import SlackWebhook
from connectors.notify.smtp import SmtpSender, SmtpSettings
from connectors.notify.templates import Templates

__all__ = ["Notice", "Rendered", "SlackWebhook", "SmtpSender", "SmtpSettings", "Templates"]
