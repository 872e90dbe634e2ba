"""Security notices go out through a real SMTP server (aiosmtpd on loopback), after commit only."""

import logging
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from etanche.accounts import notices, services
from tests.servers import free_port

NEW_PASSWORD = "Trois-petits-chats-2024!"  # noqa: S105


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "etanche@lab-a.example.invalid"
    yield inbox
    controller.stop()


def test_a_password_change_is_mailed_through_smtp(world, smtp, django_capture_on_commit_callbacks):
    user = world.biologist
    with django_capture_on_commit_callbacks(execute=True):
        services.change_password(user, NEW_PASSWORD)
    [(recipients, message)] = smtp.messages
    assert recipients == [user.email]
    assert message["From"] == "etanche@lab-a.example.invalid"
    assert message["Subject"].strip() == "Étanche : votre mot de passe a été changé"
    body = message.get_content()
    assert "votre mot de passe a été changé" in body and user.username in body
    assert NEW_PASSWORD not in body


def test_nothing_is_sent_for_a_change_that_rolls_back(world, smtp):
    # Inside the test's transaction, never committed: no mail about a change that did not happen.
    services.change_password(world.biologist, NEW_PASSWORD)
    assert smtp.messages == []


def test_a_mail_server_down_leaves_the_change_and_logs_the_class_only(
        world, settings, caplog, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = False
    user = world.biologist
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        services.change_password(user, NEW_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert "ConnectionRefusedError" in caplog.text
    assert user.email not in caplog.text


def test_an_unknown_notice_is_refused(world):
    with pytest.raises(ValueError, match="unknown security notice"):
        notices.notify(world.biologist, "nothing")
    assert mail.outbox == []
