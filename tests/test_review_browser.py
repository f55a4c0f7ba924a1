"""End to end in a real browser: `nianbao review` started as a user starts it, driven in
headless Chromium (Debian's chromium and chromedriver, through Selenium) with the keyboard;
then the exported CSV and gold file are read. Each page is saved as a screenshot (under
$NIANBAO_SCREENSHOTS when set, to be looked at)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import headless_chromium
from flows import store
from flows.review.evidence import HEADING
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
    with headless_chromium(CHROMIUM, CHROMEDRIVER) as driver:
        yield driver


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
    with open(folder / "export" / "fields.csv", encoding="utf-8-sig") as fh:
        rows = {r["key"]: r for r in csv.DictReader(fh) if r["document"] == "x1.pdf"}
    assert (rows[first]["value_num"], rows[first]["decision"], rows[first]["reviewer"]) == ("7", "corrected", "browser-test")
    assert rows[second]["decision"] == "source_error" and rows[third]["decision"] == "accepted"
    assert machine != "7"

    gold_dir = folder / "gold"
    subprocess.run([*NIANBAO, "review", "export-gold", str(folder), "--out", str(gold_dir)], check=True,
                   capture_output=True)
    gold = json.loads((gold_dir / "x1.json").read_text(encoding="utf-8"))
    assert gold["document"] == "x1.pdf" and gold["fields"][first] == 7
    assert any(e["rule"] == "X1" and second in e["fields"] for e in gold["source_errors"])
    assert not (gold_dir / "r4.json").exists()  # not reviewed


def _shot(driver, folder: Path, name: str) -> Path:
    """The whole page as a PNG (the window made as tall as the page, its width kept)."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(height + 140, 4000))  # 140: the window's own bars
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path


def _fits(driver) -> bool:
    """No sideways scrolling: the page is no wider than the window."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture()
def shots(tmp_path):
    folder = Path(os.environ.get("NIANBAO_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_pages_fit_a_narrow_window_and_name_the_column(app, browser, shots):
    url, ids, _ = app
    browser.set_window_size(760, 1000)
    browser.get(url)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    r4 = next(r for r in rows if "suit_direct.total" in r.text)
    cells = [td.text for td in r4.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "桃源市人民政府 2024年"  # body and year, not the file's name
    assert cells[2] == "4"  # the value read, beside the field
    assert _fits(browser)
    _shot(browser, shots, "1-queue")

    # R4's five fields on one row would be wider than the window: they wrap
    browser.get(f"{url}field/{ids['r4.html']}/suit_direct.pending")
    this = browser.find_element(By.CSS_SELECTOR, ".rule-fields li.this")
    assert "suit_direct.pending" in this.text
    assert _fits(browser)
    assert this.rect["x"] + this.rect["width"] <= browser.execute_script("return window.innerWidth")
    tops = {li.rect["y"] for li in browser.find_elements(By.CSS_SELECTOR, ".rule-fields li")}
    assert len(tops) > 1  # more than one line of fields
    assert browser.find_element(By.ID, "report-name").text == "桃源市人民政府 2024年"
    assert browser.find_element(By.ID, "source-file").get_attribute("href").endswith(f"/source/{ids['r4.html']}")
    _shot(browser, shots, "2-field-html-table")

    # a PDF's crop: the header rows above the cell, the column's heading outlined
    browser.set_window_size(760, 1000)
    browser.get(f"{url}field/{ids['r1.pdf']}/requests.total.total")
    image = WebDriverWait(browser, 15).until(ec.presence_of_element_located((By.ID, "evidence-image")))
    WebDriverWait(browser, 15).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    assert _fits(browser)
    with urllib.request.urlopen(image.get_attribute("src")) as reply:
        png = np.asarray(Image.open(reply).convert("RGB")).astype(int)
    blue = np.abs(png - np.array(HEADING)).sum(axis=2) < 60
    assert blue[: png.shape[0] // 2].any()  # the heading is outlined above the cell
    _shot(browser, shots, "3-field-pdf-crop")

    # a text dump's table: a grid, each column lined up
    browser.get(f"{url}field/{ids['script.txt']}/requests.other_misc.total")
    table = browser.find_element(By.CSS_SELECTOR, "#evidence-table table")
    hit = table.find_element(By.CSS_SELECTOR, "td.hit")
    column = [td for td in table.find_elements(By.TAG_NAME, "td") if td.rect["x"] == hit.rect["x"]]
    assert len(column) > 5  # the cells of the hit's column share its left edge
    assert _fits(browser)
    _shot(browser, shots, "4-field-text-dump")


def test_a_source_error_decided_once_then_one_field_undone(app, browser, shots):
    url, ids, folder = app
    rid = ids["r4.html"]
    browser.get(f"{url}field/{rid}/suit_direct.total?report={rid}")
    rule = browser.find_element(By.CSS_SELECTOR, "section.rule")
    assert "R4 fails" in rule.text
    rule.find_element(By.CSS_SELECTOR, "form.decide-rule button").click()  # one click for five fields
    WebDriverWait(browser, 15).until(lambda d: "0</strong> flagged fields left" in d.page_source)

    browser.find_element(By.ID, "decided-link").click()
    WebDriverWait(browser, 15).until(ec.presence_of_element_located((By.ID, "decided-count")))
    assert browser.find_element(By.ID, "decided-count").text == "5"
    _shot(browser, shots, "5-decided")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.decided tbody tr")
               if "suit_direct.upheld" in r.text)
    assert "source_error" in row.text
    row.find_element(By.CSS_SELECTOR, "button.undo").click()
    # the undo reloads the page: an element found before the reload is stale, so retried
    WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.ID, "decided-count").text == "4")
    assert "suit_direct.upheld" not in browser.find_element(By.CSS_SELECTOR, "table.decided").text
    _shot(browser, shots, "6-decided-after-undo")

    browser.get(f"{url}?report={rid}")  # back in the queue, alone
    assert browser.find_element(By.TAG_NAME, "strong").text == "1"
    assert "suit_direct.upheld" in browser.find_element(By.CSS_SELECTOR, "table.queue").text
    _shot(browser, shots, "7-queue-after-undo")

    engine = store.connect(store.database_url(None, folder))
    with engine.connect() as conn:
        trail = conn.execute(store.decisions.select().order_by(store.decisions.c.id)).all()
    engine.dispose()
    assert [r.action for r in trail] == ["source_error"] * 5 + ["undo"]  # the undone decision kept
    assert trail[-1].field == "suit_direct.upheld" and trail[-1].reviewer == "browser-test"
