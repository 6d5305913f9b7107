"""genlab.app.server: the one wait-until-up helper of the e2e tests and the browser benchmarks."""

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from genlab.app import server


class Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_returns_once_the_health_check_answers():
    port = server.free_port()
    httpd = HTTPServer(("127.0.0.1", port), Health)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        server.wait_until_up(f"http://127.0.0.1:{port}", process, timeout=10)
    finally:
        server.stop(process)
        httpd.shutdown()
    assert process.returncode is not None


def test_a_server_that_exits_is_reported_with_its_log(tmp_path):
    log = tmp_path / "streamlit.log"
    log.write_text("Traceback: app.py is broken\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match=r"(?s)exited with 3:\n.*app.py is broken"):
        server.wait_until_up(f"http://127.0.0.1:{server.free_port()}", process, timeout=30, log=log)


def test_a_server_that_never_answers_times_out():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="did not answer on .* within 0.5 s"):
            server.wait_until_up(f"http://127.0.0.1:{server.free_port()}", process, timeout=0.5)
    finally:
        server.stop(process)
