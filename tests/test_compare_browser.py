"""compare's HTML report in a real browser (Debian's chromium and chromedriver through
Selenium, headless): no console error, the SVG plots drawn, a reused passage highlighted,
the bodies table sorted by a click."""

from __future__ import annotations

import os
import shutil

import pytest

from browser import headless_chromium
from compare_cases import result, series, write
from flows.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# .ci/run sets this: there the browser must be present, not skipped
if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("NIANBAO_REQUIRE_BROWSER"):
    pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them)",
                allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture()
def browser():
    with headless_chromium(CHROMIUM, CHROMEDRIVER, console_log=True) as driver:
        yield driver


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_the_report_in_a_browser(tmp_path, browser):
    docs = []
    for i, name in enumerate(("临川市人民政府", "安平县教育局", "青阳市河东区人民政府")):
        years = series(name, [2021, 2022, 2023], seed=i, copy_text=i != 1)
        years[2023]["requests.carried.total"] = 10 * i + 1  # a failed X2 for some of them
        docs += [result(name, y, f) for y, f in years.items()]
    assert main(["compare", str(write(tmp_path / "docs", docs)), "--out", str(tmp_path / "out")]) == 0

    browser.get((tmp_path / "out" / "index.html").as_uri())
    assert browser.find_element(By.TAG_NAME, "h1").text == "Across years: 3 bodies"
    plots = browser.find_elements(By.CSS_SELECTOR, "svg.plot")
    assert len(plots) >= 2 + 6  # coverage, failure rates, a histogram per measure
    assert all(p.size["width"] > 0 and p.size["height"] > 0 for p in plots)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.plot rect")

    def column(n: int) -> list[str]:
        return [td.text for td in browser.find_elements(By.CSS_SELECTOR, f"#bodies tbody td:nth-child({n})")]

    def reuse() -> list[float]:
        return [float(t.rstrip(" %")) for t in column(5)]

    header = browser.find_elements(By.CSS_SELECTOR, "#bodies th")[4]  # reuse (latest)
    header.click()
    assert reuse() == sorted(reuse()) and reuse()[0] < reuse()[-1]  # as numbers: 25 before 100
    header.click()
    assert reuse() == sorted(reuse(), reverse=True)
    assert _errors(browser) == []

    browser.find_element(By.LINK_TEXT, "临川市人民政府").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "临川市人民政府"
    marked = browser.find_elements(By.CSS_SELECTOR, ".side .current mark")
    assert marked and "年" in marked[0].text  # copied but for the year: marked with its year
    assert browser.find_elements(By.CSS_SELECTOR, "figure svg.plot polyline")
    assert browser.find_elements(By.CSS_SELECTOR, "td.fail")  # the failed X2
    assert _errors(browser) == []
