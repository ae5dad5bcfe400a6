"""The dashboard in a browser: its picture (`python -m bench.dashboard --screenshot docs/dashboard.png`), and what
the HTTP server costs the station while browsers watch (`python -m bench.dashboard --browsers 5`).

Starts a station on the bundled media with its HTTP API (`--http 0`, multicast on loopback, TTL 0), two named
listeners that play into nothing (Kitchen and Living room); after `--seconds` (20 by default) of their reports,
which the station keeps, headless Chromium opens the dashboard's URL, whose plots start from that history, and
saves the page as a PNG a few seconds later. Every process and browser is stopped by its PID, or quit, before
this returns.

Chromium and its driver are Debian's (/usr/bin/chromium, /usr/bin/chromedriver: `make test` installs them);
Selenium is pointed at both so that its Selenium Manager never downloads anything. `open_browsers` opens any
number of them on one URL.

The cost: in rounds, a station without --http, then one with --http and no browser, then one with --http and
`--browsers` dashboards open; each with the same two listeners, its own process's CPU (user and system, psutil)
over `--seconds` once everything is up. The medians over the rounds, and their differences, are the figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
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


def start_radio(launcher: Launcher, names: tuple[str, ...] = LISTENERS, http: bool = True) -> tuple[Proc, str]:
    """A station on the bundled media (with the HTTP API unless `http` is False), and a listener of each name,
    all playing; the station and the dashboard's URL with its token ("" without the API)."""
    station = launcher.start("station", *(("--http", "0") if http else ()), "--ttl", "0", "--name",
                             "Multicast Radio", str(MEDIA), stdin=True)  # a console waiting on its pipe
    station.wait_for("type HELP", timeout_s=WAIT_S, stream="stdout")
    found = URL.search(station.stdout())
    if http and found is None:
        raise RuntimeError(f"bench.dashboard: the station printed no dashboard URL:\n{station.stdout()}")
    for name in names:
        listener = launcher.start("listener", "--output", "null", "--name", name)
        listener.wait_for("| playing |", timeout_s=WAIT_S)
    return station, found.group(1) if found else ""


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


READY = """return ["", "–"].includes(document.getElementById("title").textContent.trim()) ? 0 :
  Array.from(document.querySelectorAll("#listeners tbody tr")).filter((row) => row.textContent.includes("s ago"))
    .length"""


def wait_for_dashboard(driver: WebDriver, listeners: int) -> None:
    """Until the page shows a title and a row of figures for each of `listeners`. Asked in one script, as the
    page redraws its rows with every status (an element found a moment before may be gone)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(lambda driver: driver.execute_script(READY) >= listeners)


PAGE_WATCHES_S = 5.0  # before the picture: a few statuses and history points on the page's plots


def screenshot(url: str, path: Path, width: int, height: int, listeners: int) -> None:
    """The dashboard at `url` opened now, saved as a PNG at `path` PAGE_WATCHES_S later: the whole page, at least
    `height` high."""
    driver = open_browser(url, width, height)
    try:
        wait_for_dashboard(driver, listeners)
        time.sleep(PAGE_WATCHES_S)
        page_height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        set_viewport(driver, width, max(height, page_height))
        time.sleep(1.0)  # the plots redrawn at the new size, and a fresh status
        path.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(path)):
            raise RuntimeError(f"bench.dashboard: could not save {path}")
    finally:
        driver.quit()


def station_cpu_percent(http: bool, browsers: int, seconds: float) -> float:
    """The station's own CPU (% of one core) over `seconds`, with two listeners, and `browsers` dashboards open
    (with `http`), once every dashboard shows both listeners."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        launcher = Launcher(Path(tmp), *_random_address(random.Random()), random.Random())
        drivers: list[WebDriver] = []
        try:
            station, url = start_radio(launcher, http=http)
            drivers = open_browsers(url, browsers) if browsers else []
            for driver in drivers:
                wait_for_dashboard(driver, len(LISTENERS))
            process = psutil.Process(station.popen.pid)
            before, start = sum(process.cpu_times()[:2]), time.monotonic()
            time.sleep(seconds)
            return 100 * (sum(process.cpu_times()[:2]) - before) / (time.monotonic() - start)
        finally:
            quit_browsers(drivers)
            launcher.stop_all()


def measure(browsers: int, rounds: int, seconds: float) -> None:
    """Prints the station's CPU without the API, with it and nobody watching, and with `browsers` watching."""
    cases = {"no --http": (False, 0), "--http, no browser": (True, 0), f"--http, {browsers} browsers": (True, browsers)}
    figures: dict[str, list[float]] = {case: [] for case in cases}
    for round_ in range(rounds):
        for case, (http, count) in cases.items():
            figures[case].append(station_cpu_percent(http, count, seconds))
            print(f"bench.dashboard: round {round_ + 1}/{rounds}, {case}: {figures[case][-1]:.2f} % of a core",
                  file=sys.stderr, flush=True)
    baseline = statistics.median(figures["no --http"])
    print(f"station CPU, % of one core, over {seconds:g} s, median of {rounds} rounds (two listeners each):")
    for case, values in figures.items():
        median = statistics.median(values)
        print(f"  {case:<22} {median:6.2f}  ({median - baseline:+.2f} against no --http; rounds: "
              f"{', '.join(f'{value:.2f}' for value in values)})")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save the dashboard here")
    parser.add_argument("--browsers", type=int, metavar="N",
                        help="measure the station's CPU with N dashboards open, against none and no --http")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the measure (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long the listeners play before the dashboard opens for the picture (its plots "
                             "start from the station's history), or each case is measured (default 20)")
    parser.add_argument("--width", type=int, default=1200, help="the page's width in CSS pixels (default 1200)")
    parser.add_argument("--height", type=int, default=1000,
                        help="the page's least height in CSS pixels; a longer page is taken whole (default 1000)")
    args = parser.parse_args()
    if (args.screenshot is None) == (args.browsers is None):
        parser.error("give --screenshot FILE.png or --browsers N")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print(f"bench.dashboard: needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver)",
              file=sys.stderr)
        return 2
    if args.browsers is not None:
        measure(args.browsers, args.rounds, args.seconds)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        launcher = Launcher(Path(tmp), *_random_address(random.Random()), random.Random())
        try:
            print("bench.dashboard: starting the station and its listeners...", file=sys.stderr, flush=True)
            _, url = start_radio(launcher)
            print(f"bench.dashboard: the listeners play for {args.seconds:g} s...", file=sys.stderr, flush=True)
            time.sleep(args.seconds)
            screenshot(url, args.screenshot, args.width, args.height, len(LISTENERS))
        finally:
            launcher.stop_all()
    print(f"bench.dashboard: saved {args.screenshot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
