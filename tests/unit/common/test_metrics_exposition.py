"""A service's metrics are served on its metrics port; a taken port does not stop it."""

from __future__ import annotations

import socket

import httpx
import pytest
from callscope_common.metrics import serve_metrics

from tests.support.scraped_metrics import Scrape
from tests.support.services import free_port


def test_the_metrics_port_serves_every_callscope_metric_family() -> None:
    port = free_port()
    serve_metrics(port, host="127.0.0.1")
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200
    assert Scrape(answer.text).has("python_info")
    # Metrics with labels and no samples yet still announce themselves by name and type.
    assert "# TYPE callscope_uploads_total counter" in answer.text
    assert "# TYPE callscope_consumer_lag gauge" in answer.text


def test_a_taken_port_is_logged_and_the_service_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve_metrics(port, host="127.0.0.1")
    assert "metrics not served" in caplog.text
