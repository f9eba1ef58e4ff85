"""Alert URLs: read from the environment or a file, checked by apprise, never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gridmaker.ops.alerts import AlertConfigError, Alerter, load_alert_urls

SECRET = "s3cr3t-t0ken-4f9a"
GOOD = f"json://127.0.0.1:9/{SECRET}"
OTHER = "json://127.0.0.1:9/other-hook"
BAD = f"nosuchscheme://{SECRET}@example"


def test_load_env_split_on_whitespace_commas_and_newlines_keeps_order_once() -> None:
    urls = load_alert_urls(f" {GOOD},{OTHER}\n{GOOD}\t", None)

    assert urls == [GOOD, OTHER]


def test_load_file_skips_comments_and_blanks_after_env(tmp_path: Path) -> None:
    file = tmp_path / "alerts.txt"
    file.write_text(f"# where alerts go\n\n  {OTHER}  \n", encoding="utf-8")

    assert load_alert_urls(GOOD, file) == [GOOD, OTHER]


def test_load_nothing_configured_is_empty() -> None:
    assert load_alert_urls(None, None) == []
    assert load_alert_urls("  \n", None) == []


def test_load_refused_env_url_names_position_not_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AlertConfigError) as error:
        load_alert_urls(f"{GOOD} {BAD}", None)

    message = str(error.value)
    assert "GRIDMAKER_ALERT_URLS entry 2" in message and "nosuchscheme://…" in message
    assert SECRET not in message
    assert SECRET not in caplog.text


def test_load_refused_file_url_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "alerts.txt"
    file.write_text(f"{GOOD}\n# comment\nnot a url {SECRET}\n", encoding="utf-8")

    with pytest.raises(AlertConfigError) as error:
        load_alert_urls(None, file)

    assert f"{file} line 3" in str(error.value)
    assert SECRET not in str(error.value)


def test_load_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    file = tmp_path / "absent.txt"

    with pytest.raises(AlertConfigError, match=r"absent\.txt must be a readable"):
        load_alert_urls(None, file)


def test_alerter_refused_url_raises_without_its_text() -> None:
    with pytest.raises(AlertConfigError) as error:
        Alerter([GOOD, BAD])

    assert "alert URL 2 of 2" in str(error.value) and SECRET not in str(error.value)


def test_alerter_logs_only_schemes_and_redacts_apprise_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    alerter = Alerter([GOOD])
    logging.getLogger("apprise").error("Failed to send to %s (token %s)", GOOD, SECRET)
    alerter.close()

    assert "json://…" in caplog.text
    assert "Failed to send to" in caplog.text
    assert SECRET not in caplog.text
