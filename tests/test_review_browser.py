"""End to end in a real browser: `nianbao review` started as a user starts it, driven in
headless Chromium (Debian's chromium and chromedriver, through Selenium) with the keyboard;
then the exported CSV and gold file are read."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from review_cases import build_review_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# .ci/run sets this: there the browser must be present, not skipped
if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("NIANBAO_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them)",
                allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

NIANBAO = [sys.executable, "-m", "flows.cli"]


@pytest.fixture()
def app(tmp_path):
    ids = build_review_db(tmp_path)
    proc = subprocess.Popen([*NIANBAO, "review", str(tmp_path), "--port", "0", "--reviewer", "browser-test"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+/", line)
        assert url, f"no address printed: {line!r}"
        yield url.group(0), ids, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture()
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="nianbao-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _press(driver, keys: str) -> None:
    webdriver.ActionChains(driver).send_keys(keys).perform()


def _field_page(driver, key_before: str | None = None) -> str:
    """Wait for a field page (another one than `key_before`); its field key."""
    wait = WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException])
    return wait.until(lambda d: (el := d.find_elements(By.ID, "field-key")) and el[0].text != key_before
                      and el[0].text)


def test_review_in_the_browser_with_the_keyboard(app, browser):
    url, ids, folder = app
    rid = ids["x1.pdf"]
    browser.get(f"{url}?report={rid}")
    left = browser.find_element(By.TAG_NAME, "strong").text
    assert left == "3"  # the report's three flagged fields

    _press(browser, "n")  # start
    first = _field_page(browser)
    machine = browser.find_element(By.ID, "machine-value").text
    image = WebDriverWait(browser, 15).until(ec.presence_of_element_located((By.ID, "evidence-image")))
    WebDriverWait(browser, 15).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    assert image.size["width"] > 100  # the page around the cell, shown

    _press(browser, "c")  # to the value box
    assert browser.switch_to.active_element.get_attribute("id") == "correct-value"
    _press(browser, "7\n")
    second = _field_page(browser, first)
    assert browser.find_element(By.ID, "left").text == "left: 2"

    _press(browser, "s")  # the report itself is wrong here
    third = _field_page(browser, second)
    _press(browser, "a")
    WebDriverWait(browser, 15).until(lambda d: "0</strong> flagged fields left" in d.page_source)

    subprocess.run([*NIANBAO, "review", "export", str(folder)], check=True, capture_output=True)
    with open(folder / "export" / "fields.csv", encoding="utf-8") as fh:
        rows = {r["field"]: r for r in csv.DictReader(fh) if r["document"] == "x1.pdf"}
    assert (rows[first]["value"], rows[first]["origin"], rows[first]["reviewer"]) == ("7", "corrected", "browser-test")
    assert rows[second]["origin"] == "source_error" and rows[third]["origin"] == "accepted"
    assert machine != "7"

    gold_dir = folder / "gold"
    subprocess.run([*NIANBAO, "review", "export-gold", str(folder), "--out", str(gold_dir)], check=True,
                   capture_output=True)
    gold = json.loads((gold_dir / "x1.json").read_text(encoding="utf-8"))
    assert gold["document"] == "x1.pdf" and gold["fields"][first] == 7
    assert any(e["rule"] == "X1" and second in e["fields"] for e in gold["source_errors"])
    assert not (gold_dir / "r4.json").exists()  # not reviewed
