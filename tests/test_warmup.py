import subprocess
import sys


def test_warm_up_imports_torch_in_the_background_once_and_pages_get_one_torch_thread():
    code = (
        "import sys\n"
        "from genlab.app import warmup\n"
        "assert 'torch' not in sys.modules\n"
        "thread = warmup.start()\n"
        "assert warmup.start() is thread\n"
        "thread.join(300)\n"
        "assert not thread.is_alive()\n"
        "assert all(name in sys.modules for name in warmup.MODULES)\n"
        "import threading, torch\n"
        "counts = []\n"
        "page = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))\n"
        "page.start(); page.join()\n"
        "assert counts == [warmup.PAGE_THREADS], counts\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
