"""The app as a running server, for the end-to-end tests and the browser benchmarks: a free port,
the `streamlit run app.py` command, waiting until the server answers, stopping it; and the headless
Chromium they drive (Debian's: Playwright cannot download a browser here)."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """Returns the command that serves app.py headless on 127.0.0.1:port (run it in the repository root)."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
            "--server.port", str(port), "--server.address", "127.0.0.1"]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0, log: Path | None = None,
                  poll: float = 0.05) -> None:
    """Returns once the server at `url` answers its health check (polled every `poll` seconds); RuntimeError,
    ending with the tail of `log` if given, when `process` exits first or `timeout` seconds pass."""
    deadline = time.time() + timeout
    tail = (lambda: "") if log is None else (lambda: ":\n" + Path(log).read_text()[-3000:])
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}{tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:g} s{tail()}")


def stop(process: subprocess.Popen) -> None:
    """Stops a server started here (killed if it has not exited 10 s after SIGTERM)."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
