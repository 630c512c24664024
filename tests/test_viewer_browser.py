"""A real browser (headless Debian Chromium driven by Playwright) loads the viewer from a
server on loopback, toggles a layer, clicks a point and reads the popup; screenshot kept."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STATIC = Path(__file__).resolve().parents[1] / "src" / "lunatlas" / "web" / "static"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="browser test: Debian chromium not installed "
                       "(.ci/run installs it)"),
    pytest.mark.skipif(not (STATIC / "node_modules" / "leaflet").is_dir(),
                       reason="browser test: viewer assets not installed (npm ci --prefix "
                              "src/lunatlas/web/static)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from click.testing import CliRunner

    from lunatlas.cli.main import cli
    from lunatlas.web import create_app
    from tests.servers import serving

    out = tmp_path_factory.mktemp("viewer")
    result = CliRunner().invoke(cli, ["site", "--out", str(out), "--start", "2026-01-01",
                                      "--end", "2026-02-01", "--step", "12"])
    assert result.exit_code == 0, result.output
    with serving(create_app(out / "atlas.gpkg")) as port:
        yield f"http://127.0.0.1:{port}", out


def test_viewer_toggle_click_popup_screenshot(server):
    from playwright.sync_api import sync_playwright

    url, out = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert page.locator("#sites tbody tr").count() == 5
        # opened on the data, with a labelled graticule and labelled sites
        assert page.locator(".site-label").count() == 5
        assert page.locator(".grid-label", has_text="88°S").count() == 1
        assert page.locator(".grid-label", has_text="30°W").count() == 1
        assert page.evaluate("document.querySelector('#map')._leaflet_id") is not None
        # Toggle the craters overlay on through the layer control.
        label = page.locator(".leaflet-control-layers-overlays label", has_text="craters")
        label.locator("input").check()
        page.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length"
                               " > 20", timeout=10_000)
        # Click the middle of the map (the pole) and read the popup.
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        text = popup.inner_text()
        assert "edition 2" in text and "nearest site S" in text
        assert "lat" in page.locator("#coords").inner_text()
        page.screenshot(path=str(out / "viewer.png"))
        browser.close()
    assert not errors, errors
    assert (out / "viewer.png").stat().st_size > 20_000


def test_global_view_loads_global_tiles(server):
    from playwright.sync_api import sync_playwright

    url, out = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        tiles = []
        page.on("response", lambda r: tiles.append(r.status) if "/api/tiles/hillshade-global/"
                in r.url else None)
        page.goto(url + "/?view=global")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_timeout(1000)
        assert "Global view" in page.locator("#view").inner_text()
        assert tiles and all(s == 200 for s in tiles)
        assert page.locator("path.leaflet-interactive").count() >= 11  # samples
        # polar sites and traverses are not smeared along the edge: the polar view has them
        assert page.locator(".site-label").count() == 0
        assert "south polar view only" in page.locator("#polar-note").inner_text()
        page.screenshot(path=str(out / "viewer_global.png"))
        browser.close()


def test_report_renders_tables_in_a_browser(server):
    """The siting report as a person reads it: real tables (one row per site) and the
    criteria in a code block, rendered by Chromium; screenshot kept beside it."""
    from playwright.sync_api import sync_playwright

    _, out = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1250, "height": 1400})
        page.goto((out / "report.html").as_uri())
        first = page.locator("table").first
        assert first.locator("tbody tr").count() == 5
        assert "lat (°)" in first.locator("thead").inner_text()
        assert "[constraints]" in page.locator("pre").first.inner_text()
        box = first.bounding_box()
        assert box["height"] > 5 * 15  # rows, not one long line of cells
        page.screenshot(path=str(out / "report.png"), full_page=True)
        browser.close()
    assert (out / "report.png").stat().st_size > 50_000
