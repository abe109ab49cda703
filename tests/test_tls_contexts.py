"""bot/delivery/tls_contexts.py: Apprise's mail plugin gets TLS contexts made once (not once per mail), set up as
it asks — a context that checks certificates is never handed to a mail that asked for none, nor the reverse."""

from __future__ import annotations

import ssl

from bot.delivery import tls_contexts
from bot.delivery.providers import _notifier


def test_contexts_are_shared_by_how_they_are_set_up_and_made_only_when_used():
    shim = tls_contexts._SSL()
    relaxed, strict, relaxed_again = (shim.create_default_context() for _ in range(3))
    relaxed.check_hostname = False
    relaxed.verify_mode = ssl.CERT_NONE
    relaxed_again.check_hostname = False
    relaxed_again.verify_mode = ssl.CERT_NONE
    assert callable(relaxed.wrap_socket)  # used: now a real context
    assert (relaxed.check_hostname, relaxed.verify_mode) == (False, ssl.CERT_NONE)
    assert (strict.check_hostname, strict.verify_mode) == (True, ssl.CERT_REQUIRED)
    assert relaxed_again.wrap_socket.__self__ is relaxed.wrap_socket.__self__
    assert strict.wrap_socket.__self__ is not relaxed.wrap_socket.__self__
    assert isinstance(shim.create_default_context(cafile=None), ssl.SSLContext)  # with arguments: the real one
    assert shim.CERT_NONE is ssl.CERT_NONE


def test_apprises_mail_plugin_uses_them_once_a_notifier_is_made():
    _notifier()
    from apprise.plugins.email import smtp

    assert isinstance(smtp.ssl, tls_contexts._SSL)
    assert isinstance(smtp.ssl.create_default_context(), tls_contexts._Deferred)
