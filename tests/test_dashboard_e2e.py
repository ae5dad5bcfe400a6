"""The dashboard in a real browser: a station with --http and a listener on loopback, headless Chromium driven by
Selenium. The page must show what the station plays and who listens, and its PAUSE button must pause the station.

Chromium and its driver come from Debian (`make test` installs them); Selenium is pointed at both, so that its
Selenium Manager never downloads a browser. Without them the test is skipped, saying so.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Launcher, noise_pcm, write_wav
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 15.0  # the most any one step may take; a step normally takes well under a second
NAME = "Kitchen <i>&amp;</i>"  # names come from the network: the page shows them as text, never as markup
URL = re.compile(r"dashboard: (http://\S+/\?token=(\S+))")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium, chromium-driver: "
                              "make test installs them)"),
]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium, quit at the end whatever happened."""
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1000"):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(WAIT_S)
        yield driver
    finally:
        driver.quit()


def _status(base: str, token: str) -> dict[str, object]:
    """The station's status as the API gives it, by the bearer token."""
    request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=WAIT_S) as reply:
        return json.loads(reply.read())


def test_dashboard_shows_the_station_and_pauses_it(launcher: Launcher, tmp_path: Path, browser: WebDriver) -> None:
    song = write_wav(tmp_path / "Harbour Lights.wav", noise_pcm(30.0))
    station = launcher.start("station", "--http", "0", "--ttl", "0", str(song), stdin=True)
    station.wait_for("dashboard: http", stream="stdout")
    found = URL.search(station.stdout())
    assert found, station.stdout()
    url, token = found.group(1), found.group(2)
    base = url.split("/?", 1)[0]
    listener = launcher.start("listener", "--output", "null", "--name", NAME)
    listener.wait_for("| playing |")

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(url)
    wait.until(EC.text_to_be_present_in_element((By.ID, "title"), "Harbour Lights"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "listeners"), NAME))
    assert not browser.find_elements(By.CSS_SELECTOR, "#listeners i"), "a listener's name was parsed as HTML"
    assert "token=" not in browser.current_url, "the page hides its token from the address bar"
    toggle = wait.until(EC.element_to_be_clickable((By.ID, "play-pause")))
    wait.until(EC.text_to_be_present_in_element((By.ID, "play-pause"), "PAUSE"))
    toggle.click()

    wait.until(EC.text_to_be_present_in_element((By.ID, "answer"), "paused"))
    assert "error" not in browser.find_element(By.ID, "answer").get_attribute("class")
    assert _status(base, token)["state"] == "paused"
    wait.until(EC.text_to_be_present_in_element((By.ID, "play-pause"), "PLAY"))
    assert station.popen.poll() is None
