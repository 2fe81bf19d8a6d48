"""Credentials masked out of URLs, messages, exception chains and request logs."""

from __future__ import annotations

import logging

import pytest

from core.redaction import (
    MASK,
    SecretsFilter,
    hide_in_logs,
    mask,
    redact_url,
    redact_urls,
    scrub_exception,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://api.pipedrive.com/v1/deals?api_token=abc123&start=0",
            f"https://api.pipedrive.com/v1/deals?api_token={MASK}&start=0",
        ),
        (
            "https://api.hubapi.com/deals/v1/deal/paged?hapikey=k-1&limit=250",
            f"https://api.hubapi.com/deals/v1/deal/paged?hapikey={MASK}&limit=250",
        ),
        (
            "https://x.my.salesforce.com/services/oauth2/token?client_secret=s&code=c&q=1",
            f"https://x.my.salesforce.com/services/oauth2/token?client_secret={MASK}"
            f"&code={MASK}&q=1",
        ),
        (
            "https://user:pa55@proxy.example.com:8443/api",
            f"https://user:{MASK}@proxy.example.com:8443/api",
        ),
        ("https://tok3n@proxy.example.com/api", f"https://{MASK}@proxy.example.com/api"),
        (
            "https://login.salesforce.com/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
            "https://login.salesforce.com/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
        ),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_urls_in_a_message_are_redacted_and_the_rest_kept() -> None:
    text = "GET 'https://a.example/x?token=t0k&page=2' failed: 500 (see https://b.example/y)"
    assert redact_urls(text) == (
        f"GET 'https://a.example/x?token={MASK}&page=2' failed: 500 (see https://b.example/y)"
    )


def test_mask_replaces_known_values_and_ignores_too_short_ones() -> None:
    assert mask("token abcdef123 refused; id 42", ["abcdef123", "42"]) == (
        f"token {MASK} refused; id 42"
    )


def test_scrub_exception_masks_the_whole_chain() -> None:
    secret = "sk-live-0123456789"
    try:
        try:
            raise ValueError(f"bad header Bearer {secret}")
        except ValueError as inner:
            raise RuntimeError(f"load failed: {inner}") from inner
    except RuntimeError as outer:
        scrub_exception(outer, [secret])
        assert secret not in str(outer) and MASK in str(outer)
        assert secret not in str(outer.__cause__)


def test_a_webhook_path_is_masked_in_request_logs(caplog: pytest.LogCaptureFixture) -> None:
    webhook = "https://hooks.slack.com/services/T0000/B0000/XyZsecretPart123"
    logger = logging.getLogger("tests.secrets.fake_urllib3")
    try:
        hide_in_logs([webhook], loggers=[logger.name])
        with caplog.at_level(logging.DEBUG, logger=logger.name):
            logger.debug(
                '%s "POST %s HTTP/1.1" 200 2',
                "https://hooks.slack.com:443",
                "/services/T0000/B0000/XyZsecretPart123",
            )
        assert "XyZsecretPart123" not in caplog.text
        assert f'"POST {MASK} HTTP/1.1" 200 2' in caplog.text
        # a second webhook joins the same filter
        hide_in_logs(["https://hooks.example/other/AnotherSecret99"], loggers=[logger.name])
        assert len([f for f in logger.filters if isinstance(f, SecretsFilter)]) == 1
    finally:
        logger.filters.clear()
