"""The dashboard in a browser: `python -m bench.dashboard --screenshot docs/dashboard.png`.

Starts a station on the bundled media with its HTTP API (`--http 0`, multicast on loopback, TTL 0), two named
listeners that play into nothing (Kitchen and Living room), then headless Chromium on the dashboard's URL; after
`--seconds` (20 by default, so that the loss and jitter plots have lines), it saves the page as a PNG. Every
process and browser is stopped by its PID, or quit, before this returns.

Chromium and its driver are Debian's (/usr/bin/chromium, /usr/bin/chromedriver: `make test` installs them);
Selenium is pointed at both so that its Selenium Manager never downloads anything. `open_browsers` opens any
number of them on one URL, for a measure of the HTTP server with several dashboards watching.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import ROOT, Launcher, Proc, _random_address  # noqa: E402  (the tests' process launcher)

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MEDIA = ROOT / "media"
LISTENERS = ("Kitchen", "Living room")
WAIT_S = 15.0  # the most any one step may take before the run is called failed
URL = re.compile(r"dashboard: (http://\S+/\?token=\S+)")


def start_radio(launcher: Launcher, names: tuple[str, ...] = LISTENERS) -> tuple[Proc, str]:
    """A station on the bundled media with the HTTP API, and a listener of each name, all playing; the station
    and the dashboard's URL (with its token)."""
    station = launcher.start("station", "--http", "0", "--ttl", "0", "--name", "Multicast Radio", str(MEDIA),
                             stdin=True)  # a console that waits on its pipe, as an operator's would
    station.wait_for("dashboard: http", timeout_s=WAIT_S, stream="stdout")
    found = URL.search(station.stdout())
    if found is None:
        raise RuntimeError(f"bench.dashboard: the station printed no dashboard URL:\n{station.stdout()}")
    for name in names:
        listener = launcher.start("listener", "--output", "null", "--name", name)
        listener.wait_for("| playing |", timeout_s=WAIT_S)
    return station, found.group(1)


def open_browser(url: str, width: int = 1200, height: int = 1000) -> WebDriver:
    """Headless Chromium on `url`, its viewport `width` x `height` CSS pixels; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(WAIT_S)
        set_viewport(driver, width, height)
        driver.get(url)
    except BaseException:
        driver.quit()
        raise
    return driver


def open_browsers(url: str, count: int, width: int = 1200, height: int = 1000) -> list[WebDriver]:
    """`count` headless browsers watching the dashboard at `url`; the caller quits them (`quit_browsers`), even
    when this fails halfway: it quits those it opened before raising."""
    drivers: list[WebDriver] = []
    try:
        for _ in range(count):
            drivers.append(open_browser(url, width, height))
    except BaseException:
        quit_browsers(drivers)
        raise
    return drivers


def quit_browsers(drivers: list[WebDriver]) -> None:
    """Quits every browser, each whatever became of the others."""
    for driver in drivers:
        try:
            driver.quit()
        except Exception as e:  # a browser that crashed: its driver is gone with it
            print(f"bench.dashboard: quitting a browser: {e}", file=sys.stderr)


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """The page's viewport exactly `width` x `height` (a window's size includes the browser's own bars)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def wait_for_dashboard(driver: WebDriver, listeners: int) -> None:
    """Until the page shows a title and a row of figures for each of `listeners`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(driver: WebDriver) -> bool:
        rows = driver.find_elements(By.CSS_SELECTOR, "#listeners tbody tr")
        reported = [row for row in rows if "s ago" in row.text]
        return driver.find_element(By.ID, "title").text not in ("", "–") and len(reported) >= listeners

    WebDriverWait(driver, WAIT_S).until(ready)


def screenshot(url: str, path: Path, seconds: float, width: int, height: int, listeners: int) -> None:
    """The dashboard at `url` after `seconds`, saved as a PNG at `path`: the whole page, at least `height` high."""
    driver = open_browser(url, width, height)
    try:
        wait_for_dashboard(driver, listeners)
        time.sleep(seconds)
        page_height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        set_viewport(driver, width, max(height, page_height))
        time.sleep(1.0)  # the plots redrawn at the new size, and a fresh status
        path.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(path)):
            raise RuntimeError(f"bench.dashboard: could not save {path}")
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screenshot", type=Path, metavar="FILE.png", required=True,
                        help="save the dashboard here")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long the dashboard watches before the picture (default 20)")
    parser.add_argument("--width", type=int, default=1200, help="the page's width in CSS pixels (default 1200)")
    parser.add_argument("--height", type=int, default=1000,
                        help="the page's least height in CSS pixels; a longer page is taken whole (default 1000)")
    args = parser.parse_args()
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print(f"bench.dashboard: needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        launcher = Launcher(Path(tmp), *_random_address(random.Random()), random.Random())
        try:
            print("bench.dashboard: starting the station and its listeners...", file=sys.stderr, flush=True)
            _, url = start_radio(launcher)
            print(f"bench.dashboard: watching for {args.seconds:g} s...", file=sys.stderr, flush=True)
            screenshot(url, args.screenshot, args.seconds, args.width, args.height, len(LISTENERS))
        finally:
            launcher.stop_all()
    print(f"bench.dashboard: saved {args.screenshot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
