"""``vmtop serve`` in a real headless browser, and its refusals.

The server runs ``python -m vmtop serve`` on a free loopback port over the fixture /proc
tree (tests/fixtures/tui_proc: 4242 is a C program with a heap); Chromium opens the page
and the test types into it as a person would: "/" and a name filter the picker, Enter
opens the process, whose header and ``[heap]`` row must appear. The page is saved as a
PNG (``VMTOP_UPDATE_SCREENSHOTS=1`` also writes screenshots/serve-browser.png).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUI_PROC = ROOT / "tests" / "fixtures" / "tui_proc"

pytest.importorskip("textual_serve", reason="vmtop[web] (textual-serve) is not installed")
aiohttp = pytest.importorskip("aiohttp")

from .cdp import TERMINAL_HOOK, Browser, find_chromium  # noqa: E402 - needs aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vmtop(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vmtop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@contextlib.contextmanager
def serving(tmp_path: Path, host: str = "127.0.0.1", *more: str):
    """``vmtop serve`` on the fixture tree, on a free port of ``host`` (with ``more``
    arguments); yields the page's URL once it answers (through 127.0.0.1 for a server
    on every address)."""
    with server_process(tmp_path, host, *more) as (url, _proc):
        yield url


@contextlib.contextmanager
def server_process(tmp_path: Path, host: str = "127.0.0.1", *more: str, proc_root=TUI_PROC):
    """As ``serving``, yielding the server's process as well; ``proc_root``: the /proc
    it reads (the fixture tree's, unless a test serves a live process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMTOP_", "TEXTUAL"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no config file: the defaults
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmtop", "--proc-root", str(proc_root), "serve"]
        + ["--host", host, "--port", str(port), *more],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    reach = "127.0.0.1" if host == "0.0.0.0" else host
    url = f"http://[{reach}]:{port}/" if ":" in reach else f"http://{reach}:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                proc.wait()
                pytest.fail(f"vmtop serve did not start: {out}")
            time.sleep(0.2)
    try:
        yield url, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def server(tmp_path):
    with serving(tmp_path) as url:
        yield url


@pytest.mark.slow
def test_the_tui_works_in_a_browser(server, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    browser = Browser(binary, 1400, 900)
    browser.start()
    shot = tmp_path / "serve-browser.png"
    try:
        asyncio.run(_drive(browser, server, shot))
    finally:
        browser.stop()
    assert shot.stat().st_size > 10_000
    if os.environ.get("VMTOP_UPDATE_SCREENSHOTS"):
        shutil.copy(shot, ROOT / "screenshots" / "serve-browser.png")


async def _drive(browser: Browser, url: str, shot: Path) -> None:
    async with aiohttp.ClientSession() as session:
        page = await browser.page(session)
        await page.send("Page.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)
        await page.send("Page.navigate", url=url)

        # The picker: every fixture process, with its command.
        text = await page.wait_for_text("fixture_prog", "secretd", "python3", timeout=60)
        assert "PID" in text

        # The mouse works: a click on a column title sorts by it.
        await page.click_text("PID", "COMMAND")
        await page.wait_for_text("sorted by PID")

        # Typing filters it: "/" opens the filter, the others leave the list.
        await page.evaluate("window.__vmtopTerm.focus()")
        await page.type_text("/fixture_prog")
        deadline = time.monotonic() + 20
        while True:
            text = await page.screen_text()
            if "fixture_prog" in text and "secretd" not in text and "python3" not in text:
                break
            assert time.monotonic() < deadline, f"typing did not filter the picker:\n{text}"
            await asyncio.sleep(0.25)

        # Enter opens the process: its header (PID and command) and its [heap] row.
        await page.enter()
        text = await page.wait_for_text("4242", "[heap]", "fixture_prog", timeout=30)
        header = text.splitlines()[0]
        assert "4242" in header and "fixture_prog" in header
        assert any(
            "[heap]" in line and "heap" in line.replace("[heap]", "") for line in text.splitlines()
        )
        await asyncio.sleep(0.5)  # let the fade-in finish before the shot
        await page.screenshot(shot)

        # Help, and back. (Opened from the process screen it is scrolled to that screen's
        # keys: what is above them is out of view once the help is long enough.)
        await page.type_text("?")
        await page.wait_for_text("vmtop help", "Process screen", "move in the region table")
        await page.key("Escape", None, 27)
        await page.wait_for_text("[heap]", "By kind")

        # The region detail of the heap: filter the table to it, Enter.
        await page.type_text("/heap")
        await page.wait_for_text("regions 1/")  # the table holds the heap alone
        await page.enter()  # closes the filter prompt, back to the table
        await asyncio.sleep(1)
        await page.enter()
        text = await page.wait_for_text("region detail", "smaps fields", "Private_Dirty")
        assert "[heap]" in text.splitlines()[0]


def _own_urls(page: str, port: int) -> list[str]:
    """The absolute URLs in the page that lead back to the server (its assets and its
    websocket; not the web fonts)."""
    urls = re.findall(r"(?:https?|wss?)://[^\"'\s)]+", page)
    return [u for u in urls if f":{port}/" in u]


@pytest.mark.parametrize("host", ["::1", "localhost", "127.0.0.1"])
def test_the_page_links_back_to_the_server_it_came_from(tmp_path, host):
    """The stylesheet, scripts and websocket are absolute URLs; an IPv6 address in them
    must be bracketed, or the browser cannot load any of them."""
    if host == "::1" and not has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback address")
    with serving(tmp_path, host) as url:
        port = urllib.parse.urlsplit(url).port
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        own = _own_urls(page, port)
        expected_netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        assert own, f"no URL of the server in the page:\n{page}"
        assert {urllib.parse.urlsplit(u).netloc for u in own} == {expected_netloc}, own
        sockets = [u for u in own if u.startswith("ws://")]
        assert [urllib.parse.urlsplit(u).path for u in sockets] == ["/ws"]
        stylesheet = next(u for u in own if u.endswith("/xterm.css"))
        with urllib.request.urlopen(stylesheet, timeout=10) as response:
            assert response.status == 200 and b"xterm" in response.read()


@pytest.mark.parametrize("public_url", [None, "https://vmtop.example.test/lab"])
def test_served_on_every_address_the_page_links_where_browsers_reach_it(tmp_path, public_url):
    """On 0.0.0.0 the page's links said 0.0.0.0: a browser on another machine loaded
    them from itself. They name this machine, or the --public-url given (a proxy)."""
    more = ["--allow-remote"] + (["--public-url", public_url] if public_url else [])
    with serving(tmp_path, "0.0.0.0", *more) as url:
        port = urllib.parse.urlsplit(url).port
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
    if public_url is None:
        own = _own_urls(page, port)
        assert own and {urllib.parse.urlsplit(u).netloc for u in own} == {
            f"{socket.gethostname()}:{port}"
        }, own
    else:
        links = re.findall(r"(?:https?|wss?)://vmtop\.example\.test/lab/[^\"'\s)]+", page)
        assert any(u.startswith("wss://") and u.endswith("/ws") for u in links), page
        assert any(u.endswith("/xterm.css") for u in links), page
    assert "0.0.0.0" not in page


@pytest.mark.slow
def test_the_tui_works_in_a_browser_over_ipv6(tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if not has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback address")
    with serving(tmp_path, "::1") as url:
        browser = Browser(binary, 1000, 700)
        browser.start()
        try:
            asyncio.run(_open_the_picker(browser, url))
        finally:
            browser.stop()


async def _open_the_picker(browser: Browser, url: str) -> None:
    """The page loads, its websocket connects, and the picker shows the fixture tree."""
    async with aiohttp.ClientSession() as session:
        page = await browser.page(session)
        await page.send("Page.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)
        await page.send("Page.navigate", url=url)
        await page.wait_for_text("fixture_prog", "secretd", "python3", timeout=60)


def test_serve_refuses_a_non_loopback_address_without_the_flag():
    result = vmtop("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "refusing to serve on 0.0.0.0" in line and "--allow-remote" in line
    # Every address by another name: said so ("refusing to serve on : it..." before).
    result = vmtop("serve", "--host", "", "--port", str(free_port()))
    assert result.returncode == 2
    assert "refusing to serve on every address (--host '')" in result.stderr


def test_serve_on_an_address_not_this_machines_says_so_without_the_warning():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the security warning came
    # first, then "Cannot assign requested address".
    result = vmtop("serve", "--host", "192.0.2.1", "--allow-remote", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.startswith("vmtop: cannot serve on 192.0.2.1: "), result.stderr
    assert "WARNING" not in result.stderr


def test_serve_with_allow_remote_warns_what_is_exposed():
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vmtop",
            "serve",
            "--host",
            "0.0.0.0",
            "--allow-remote",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        warning = proc.stderr.readline()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    assert "WARNING" in warning and "no authentication" in warning
    assert "memory maps" in warning


def test_loopback_names():
    from vmtop.commands.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.0.2.1")


def test_serve_without_textual_serve_says_what_to_install(tmp_path):
    # A textual_serve that cannot be imported, first on the path.
    (tmp_path / "textual_serve").mkdir()
    (tmp_path / "textual_serve" / "__init__.py").write_text("raise ImportError('absent')\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    result = vmtop("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    # (vmtop is not on PyPI: the extra is installed from the checkout)
    assert "pip install textual-serve" in result.stderr and "'.[web]'" in result.stderr
    assert "pip install 'vmtop[web]'" not in result.stderr


def test_serve_on_a_name_that_does_not_resolve_says_so():
    """Not "not a loopback address: use --allow-remote", which then failed to resolve
    it after printing the security warning."""
    result = vmtop("serve", "--host", "nosuchhost.invalid", "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.startswith("vmtop: cannot serve on nosuchhost.invalid: ")
    assert "loopback" not in result.stderr and "--allow-remote" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
