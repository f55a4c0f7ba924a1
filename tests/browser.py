"""Debian's chromium, headless, for the browser tests (the review app, compare's report)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def headless_chromium(chromium: str, chromedriver: str, console_log: bool = False) -> Iterator:
    """A selenium driver on a profile of its own, removed after. `console_log`: keep the
    page's console messages, read back with driver.get_log("browser")."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tempfile.mkdtemp(prefix="nianbao-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
