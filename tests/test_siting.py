"""Siting: criteria validation, a synthetic terrain with a known best site, point scoring,
weight monotonicity, relay detection at Chang'e 6, traverses, and the main job."""

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from lunatlas.cli.main import cli
from lunatlas.crs import MOON_SOUTH_POLAR
from lunatlas.data.fetch import sha256_of
from lunatlas.errors import InputError
from lunatlas.siting import load_criteria, run_siting
from lunatlas.siting.criteria import default_criteria_text
from lunatlas.siting.suitability import (
    SiteInputs,
    constraint_failures,
    scores,
    suitability,
)
from lunatlas.traverse import cost_surface, least_cost_traverse

CHANGE_6 = (-41.625, -153.978)


def _criteria_file(tmp_path, old, new):
    path = tmp_path / "criteria.toml"
    path.write_text(default_criteria_text().replace(old, new))
    return path


@pytest.mark.parametrize("old, new, message", [
    ("max_slope_deg = 15.0", "max_slope_deg = 15.0\nmax_speed = 3", "constraints.max_speed"),
    ("max_slope_deg = 15.0", "max_slope_deg = -2", "constraints.max_slope_deg"),
    ("min_illumination_fraction = 0.35", "min_illumination_fraction = 1.5",
     "constraints.min_illumination_fraction"),
    ("power = 0.30", "power = 0", None),
    ("[weights]", "[weights", "not valid TOML"),
])
def test_bad_criteria_files_name_the_key(tmp_path, old, new, message):
    path = _criteria_file(tmp_path, old, new)
    if message is None:  # set every weight to zero
        text = path.read_text()
        for key in ("ice = 0.25", "communications = 0.15", "terrain = 0.15", "science = 0.15"):
            text = text.replace(key, key.split("=")[0] + "= 0")
        path.write_text(text)
        message = "weights must sum to a positive number"
    with pytest.raises(InputError, match=message.replace(".", r"\.")) as info:
        load_criteria(path)
    assert "criteria.toml" in str(info.value)


def _synthetic_inputs(ridge_illumination=0.9):
    """A 60×60 grid: plain, a shadowed crater (PSR) on the right, a sunlit ridge beside it."""
    shape = (60, 60)
    yy, xx = np.indices(shape)
    crater = (yy - 30) ** 2 + (xx - 45) ** 2 < 8**2
    ridge = (np.abs(xx - 30) <= 1) & (np.abs(yy - 30) <= 10)
    illumination = np.where(ridge, ridge_illumination, 0.45)
    illumination = np.where(crater, 0.0, illumination)
    from scipy import ndimage

    psr_distance = ndimage.distance_transform_edt(~crater) * 1.0
    return SiteInputs(
        slope_deg=np.where(crater, 20.0, 3.0), roughness_deg=np.full(shape, 2.0),
        illumination_fraction=illumination,
        longest_darkness_days=np.where(ridge, 2.0, 14.0),
        earth_visibility_fraction=np.full(shape, 0.5), psr_distance_km=psr_distance,
        steep_distance_km=np.full(shape, 10.0), science_value=np.full(shape, 0.5),
        pixel_km=1.0), ridge


def _rank_of_ridge(inputs, ridge, criteria):
    s = suitability(scores(inputs, criteria), constraint_failures(inputs, criteria),
                    criteria.normalised_weights())
    best = np.unravel_index(np.nanargmax(s), s.shape)
    return bool(ridge[best]), s


def test_sunlit_ridge_beside_a_shadowed_crater_ranks_first():
    criteria = load_criteria()
    inputs, ridge = _synthetic_inputs()
    on_ridge, s = _rank_of_ridge(inputs, ridge, criteria)
    assert on_ridge
    dimmed, ridge2 = _synthetic_inputs(ridge_illumination=0.4)
    dimmed.longest_darkness_days = np.full(ridge.shape, 14.0)
    on_ridge_after, s2 = _rank_of_ridge(dimmed, ridge2, criteria)
    assert not on_ridge_after
    assert np.nanmax(s2[ridge]) < np.nanmax(s[ridge])


def test_raising_a_weight_favours_sites_strong_in_that_criterion():
    rng = np.random.default_rng(5)
    criteria = load_criteria()
    shape = (1, 40)
    inputs = SiteInputs(
        slope_deg=rng.uniform(0, 10, shape), roughness_deg=rng.uniform(0, 5, shape),
        illumination_fraction=rng.uniform(0.4, 0.9, shape),
        longest_darkness_days=rng.uniform(1, 15, shape),
        earth_visibility_fraction=rng.uniform(0, 1, shape),
        psr_distance_km=rng.uniform(0, 20, shape), steep_distance_km=np.full(shape, 5.0),
        science_value=rng.uniform(0, 1, shape), pixel_km=1.0)
    score = scores(inputs, criteria)
    failures = constraint_failures(inputs, criteria)
    base = criteria.normalised_weights()
    before = suitability(score, failures, base)[0]
    for criterion in base:
        heavier = dict(base, **{criterion: base[criterion] * 3})
        after = suitability(score, failures, heavier)[0]
        strong = score[criterion][0]
        ok = np.flatnonzero(np.isfinite(before))
        flips = 0
        for i in ok:
            for j in ok:
                if before[i] < before[j] and after[i] > after[j]:
                    flips += 1  # i overtook j: only possible if i is stronger in criterion
                    assert strong[i] > strong[j], criterion
        # Each site's gain follows (its criterion score − its current suitability).
        gain = (after - before)[ok]
        lead = (strong - before)[ok]
        assert np.all(np.diff(gain[np.argsort(lead)]) >= -1e-12), criterion
        assert flips > 0 or criterion != "power"


@pytest.fixture(scope="module")
def atlas_features(built_atlas):
    from lunatlas.atlas import Atlas

    return Atlas(built_atlas).layer("craters")


def test_change_6_is_flagged_relay_required(atlas_features, tmp_path):
    # No PSR near Chang'e 6: relax the ice constraint to rank the far side at all.
    relaxed = _criteria_file(tmp_path, "max_psr_distance_km = 30.0",
                             "max_psr_distance_km = inf")
    result = run_siting(f"{CHANGE_6[0]},{CHANGE_6[1]},80", load_criteria(relaxed),
                        atlas_features, start="2026-01-01", end="2026-02-15", step_hours=12)
    info = result.explain(*CHANGE_6)
    assert info["relay_required"] is True
    assert info["raw"]["earth_visibility_fraction"] == 0.0
    assert info["scores"]["communications"] == 0.0
    assert result.table["relay_required"].all()


@pytest.fixture(scope="module")
def south_pole(atlas_features):
    return run_siting("south-pole", load_criteria(), atlas_features, start="2026-01-01",
                      end="2026-03-01", step_hours=12)


def test_scored_points_equal_the_rasters(south_pole):
    r = south_pole
    rows, cols = [20, 90, 150], [30, 92, 140]
    points = pd.DataFrame({"name": ["a", "b", "c"],
                           "lat": [float(r.lat[i, j]) for i, j in zip(rows, cols, strict=True)],
                           "lon": [float(r.lon[i, j]) for i, j in zip(rows, cols, strict=True)]})
    scored = r.score_points(points)
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        assert scored.loc[k, "raw_illumination_fraction"] == pytest.approx(
            r.inputs.illumination_fraction[i, j], abs=1e-6)
        assert scored.loc[k, "score_power"] == pytest.approx(r.scores["power"][i, j], abs=1e-6)
        expected = r.suitability[i, j]
        got = scored.loc[k, "suitability"]
        assert (got is None or np.isnan(got)) if np.isnan(expected) else \
            got == pytest.approx(expected, abs=1e-6)
    outside = r.score_points(pd.DataFrame({"name": ["CE-6"], "lat": [CHANGE_6[0]],
                                           "lon": [CHANGE_6[1]]}))
    assert outside.loc[0, "excluded_by"].startswith("not scored: point -41.625")
    with pytest.raises(InputError, match="missing column"):
        r.score_points(pd.DataFrame({"name": ["x"], "latitude": [0.0]}))


def test_ranked_sites_pass_constraints_and_traverses_reach_psrs(south_pole):
    r = south_pole
    assert list(r.table["rank"]) == sorted(r.table["rank"])
    assert r.table["suitability"].is_monotonic_decreasing
    for row in r.table.itertuples():
        assert not any(mask[row.row, row.col] for mask in r.failures.values())
    assert r.traverses
    to_psr = [t for t in r.traverses if t[1].startswith("nearest")]
    assert to_psr and any(t[1] == "site S2" for t in r.traverses)
    for _name, _target, path in to_psr:
        end = path.cells[-1]
        assert r.light.never_lit[end]
        assert path.max_slope_deg <= load_criteria().constraints.max_slope_deg + 1e-9
        assert path.length_km > 0
    assert r.sensitivity.in_top_fraction.shape == (len(r.table),)


def test_traverse_bad_input(south_pole):
    r = south_pole
    cost = cost_surface(r.inputs.slope_deg, r.inputs.roughness_deg,
                        np.nan_to_num(r.inputs.illumination_fraction), 15.0)
    with pytest.raises(InputError, match="outside the DEM grid"):
        least_cost_traverse(cost, (0, 0), [(10_000, 5)], r.grid.to_numpy(), r.inputs.slope_deg,
                            np.ones(cost.shape, bool), 2.0)


def test_region_without_valid_cells(tmp_path, atlas_features):
    path = tmp_path / "holes.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=50, count=1,
                       dtype="float32", crs=MOON_SOUTH_POLAR.to_wkt(),
                       transform=Affine(1000, 0, -25_000, 0, -1000, 25_000),
                       nodata=-9999) as dst:
        dst.write(np.full((50, 50), -9999, "float32"), 1)
    with pytest.raises(InputError) as info:
        run_siting("south-pole", load_criteria(), atlas_features, dem_paths=(path,),
                   start="2026-01-01", end="2026-01-05", step_hours=12, pixel_m=2000)
    assert "holes.tif" in str(info.value) and "nodata" in str(info.value)


def test_main_job_writes_atlas_maps_and_report(tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["site", "--region", "south-pole", "--out", str(out),
                                 "--start", "2026-01-01", "--end", "2026-02-01", "--step", "12"])
    assert result.exit_code == 0, result.output
    for name in ("atlas.gpkg", "report.md", "report.html", "site_suitability.png",
                 "site_constraints.png", "site_sensitivity.png", "map_south_polar.png"):
        assert (out / name).stat().st_size > 500, name
    from lunatlas.atlas import Atlas

    store = Atlas(out / "atlas.gpkg")
    assert store.latest == 2
    assert len(store.layer("sites")) == 5 and len(store.layer("traverses")) >= 1
    report = (out / "report.md").read_text()
    assert "## Ranked candidate sites" in report and "[constraints]" in report
    page = _html_outline((out / "report.html").read_text())
    # tables as tables: the ranked sites (one row per site, headings with units), raw values,
    # geology, traverses, constraints, provenance; the criteria in a <pre>; the warning boxed
    assert page["tables"] >= 6
    sites = page["table_rows"][0]
    assert len(sites) == 1 + 5 and sites[0][:4] == ["rank", "name", "lat (°)", "lon (°E)"]
    assert "terrain (m/px)" in sites[0] and "sunlit (fraction)" in page["table_rows"][1][0]
    assert "[constraints]" in page["pre"] and "Terrain warning" in page["blockquote"]
    # explain reads the finished run's rasters: no recomputation, no atlas as a side effect
    digest = sha256_of(out / "atlas.gpkg")
    explain = runner.invoke(cli, ["site", "--out", str(out), "explain", "--lat", "-89.9",
                                  "--lon", "0", "--json"])
    assert explain.exit_code == 0, explain.output
    info = json.loads(explain.output)
    assert {"excluded_by", "raw", "scores", "suitability"} <= set(info)
    assert info["grid"] == "site_criteria_1600m.tif" and info["observer_height_m"] == 2.0
    top = store.layer("sites").sort_values("rank").iloc[0]
    at_top = json.loads(runner.invoke(cli, [
        "site", "--out", str(out), "explain", "--lat", str(top.geometry.y), "--lon",
        str(top.geometry.x), "--json"]).output)
    assert at_top["suitability"] == pytest.approx(top["score"], abs=1e-3)
    table = runner.invoke(cli, ["site", "--out", str(out), "explain", "--lat", "-89.9",
                                "--lon", "0"])
    assert "suitability" in table.output and "ice score" in table.output
    assert sha256_of(out / "atlas.gpkg") == digest
    empty = tmp_path / "empty"
    missing = runner.invoke(cli, ["site", "--out", str(empty), "explain", "--lat", "-89.9",
                                  "--lon", "0"])
    assert missing.exit_code == 1 and "no finished siting run" in missing.output
    assert not empty.exists()


def _html_outline(text: str) -> dict:
    """Tables (rows of cell texts), <pre> and <blockquote> texts of an HTML page."""
    from html.parser import HTMLParser

    class Outline(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.stack, self.pre, self.quote = [], [], [], []

        def handle_starttag(self, tag, attrs):
            self.stack.append(tag)
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.tables[-1][-1].append("")

        def handle_endtag(self, tag):
            while self.stack and self.stack.pop() != tag:
                pass

        def handle_data(self, data):
            if "td" in self.stack or "th" in self.stack:
                self.tables[-1][-1][-1] += data.strip()
            if "pre" in self.stack:
                self.pre.append(data)
            if "blockquote" in self.stack:
                self.quote.append(data)

    parser = Outline()
    parser.feed(text)
    return {"tables": len(parser.tables), "table_rows": parser.tables,
            "pre": "".join(parser.pre), "blockquote": "".join(parser.quote)}


def test_area_polygon_restricts_candidates_and_unit_targets(atlas_features, tmp_path):
    import geopandas as gpd
    import shapely

    from lunatlas.crs import MOON_GEOGRAPHIC

    box = gpd.GeoDataFrame(geometry=[shapely.box(-100_000, -100_000, 0, 0)],
                           crs=MOON_SOUTH_POLAR)
    result = run_siting("south-pole", load_criteria(), atlas_features, start="2026-01-01",
                        end="2026-01-20", step_hours=12, area=box)
    from lunatlas.crs import lonlat_to

    x, y = lonlat_to(MOON_SOUTH_POLAR, result.table["lon"], result.table["lat"])
    assert np.all((x <= 1000) & (y <= 1000) & (x >= -101_000) & (y >= -101_000))
    far_unit = gpd.GeoDataFrame(geometry=[shapely.box(-154.2, -41.8, -153.8, -41.4)],
                                crs=MOON_GEOGRAPHIC)
    with pytest.raises(InputError, match="unit 'count:CE-6' lies outside the DEM grid"):
        run_siting("south-pole", load_criteria(), atlas_features, start="2026-01-01",
                   end="2026-01-10", step_hours=12, unit_target=("count:CE-6", far_unit))
    near_unit = gpd.GeoDataFrame(geometry=[shapely.box(-30_000, 20_000, -10_000, 40_000)],
                                 crs=MOON_SOUTH_POLAR)
    result = run_siting("south-pole", load_criteria(), atlas_features, start="2026-01-01",
                        end="2026-01-10", step_hours=12, unit_target=("test-unit", near_unit))
    assert any(target == "unit test-unit" for _s, target, _p in result.traverses)


def test_polar_pds3_dem_in_the_data_folder_is_nested(tmp_path):
    """The registry's LOLA polar DEM (PDS3 IMG + LBL through GDAL) is found in the data
    folder and nested inside the embedded 1.6 km polar DEM; without it the 1.6 km DEM is
    the default polar terrain."""
    from lunatlas.siting.terrain import choose_terrain
    from tests.polar_pds import write_polar_dem

    yy, xx = np.mgrid[-100:101, -100:101] * 1000.0
    heights = 2000.0 * np.exp(-((xx - 20_000) ** 2 + yy**2) / (2 * 15_000.0**2))
    write_polar_dem(tmp_path / "lola_polar", heights, 1000.0)
    choice = choose_terrain("south", tmp_path)
    labels = [layer.label for layer in choice.stack.layers]
    assert labels == ["lola-ldem-75s-120m", "lola-polar-south-1600m"]
    assert choice.warning == ""
    from lunatlas.crs import MOON_SOUTH_POLAR as crs

    peak, layer = choice.stack.point_height(crs, 20_000.0, 0.0)
    assert layer.label == "lola-ldem-75s-120m"
    assert peak == pytest.approx(2000.0 + layer.vertical_offset_m, abs=1.0)
    default = choose_terrain("south", tmp_path / "empty")
    assert [layer.label for layer in default.stack.layers] == ["lola-polar-south-1600m"]
    assert default.stack.finest.pixel_m == 1600.0


def _synthetic_polar_dem(path, ridge_height_m):
    """Plain at the pole, a 2 km deep crater 12 km grid-east, and a broad north–south ridge
    (Gaussian, 4 km wide) 2 km east of the pole, 4 km from the crater's rim."""
    pixel = 500.0
    half = 60
    yy, xx = np.mgrid[half:-half - 1:-1, -half:half + 1] * pixel
    crater = np.hypot(xx - 12_000, yy) < 6_000
    z = np.where(crater, -2000.0 * (1 - (np.hypot(xx - 12_000, yy) / 6_000) ** 2), 0.0)
    ridge = ridge_height_m * np.exp(-((xx - 2_000) / 4_000.0) ** 2) * (np.abs(yy) < 10_000)
    with rasterio.open(path, "w", driver="GTiff", width=2 * half + 1, height=2 * half + 1,
                       count=1, dtype="float32", crs=MOON_SOUTH_POLAR.to_wkt(),
                       transform=Affine(pixel, 0, -(half + 0.5) * pixel, 0, -pixel,
                                        (half + 0.5) * pixel)) as dst:
        dst.write((z + ridge).astype("float32"), 1)
    return path


def test_synthetic_dem_ridge_beside_a_shadowed_crater_ranks_first(tmp_path, atlas_features):
    """Through the whole pipeline (horizons, ephemeris, light, criteria) on a synthetic DEM."""
    # A year at the pole includes the half-year polar night of flat ground: relax that limit
    # so that the ranking, not the exclusion, is what is tested.
    criteria = load_criteria(_criteria_file(tmp_path, "max_longest_darkness_days = 20.0",
                                            "max_longest_darkness_days = 366.0"))

    def run(height):
        dem = _synthetic_polar_dem(tmp_path / f"dem{height}.tif", height)
        return run_siting("-90,0,25", criteria, atlas_features, dem_paths=(dem,),
                          start="2026-01-01", end="2026-12-31", step_hours=24, pixel_m=500,
                          max_distance_km=30)

    with_ridge = run(1000.0)
    best = with_ridge.table.iloc[0]
    from lunatlas.crs import lonlat_to

    x, y = (float(v) for v in lonlat_to(MOON_SOUTH_POLAR, best["lon"], best["lat"]))
    assert abs(x - 2_000) < 1_500 and abs(y) < 10_000  # on the ridge crest
    crater_floor = with_ridge.cell_of(*_latlon_of(12_000, 0))
    assert with_ridge.light.never_lit[crater_floor]
    flattened = run(0.0)
    r, c = with_ridge.cell_of(float(best["lat"]), float(best["lon"]))
    assert flattened.inputs.illumination_fraction[r, c] < \
        with_ridge.inputs.illumination_fraction[r, c]
    assert flattened.suitability[r, c] < with_ridge.suitability[r, c]


def _latlon_of(x, y):
    from lunatlas.crs import to_lonlat

    lon, lat = to_lonlat(MOON_SOUTH_POLAR, x, y)
    return float(lat), float(lon)


@pytest.mark.shared_data
def test_nested_tiles_rank_sites_at_their_resolution(shared_data, atlas_features):
    """With the data folder the 200 m and 40 m tiles are nested in the 1.6 km DEM: sites on
    them carry 200 m / 40 m terrain, the PSR polygons drive the ice criterion, sites are
    named from the gazetteer, and the warning names the resolution at each coarse site."""
    result = run_siting("south-pole", load_criteria(), atlas_features, data_dir=shared_data,
                        start="2026-01-01", end="2026-02-28", step_hours=24, n_azimuths=32,
                        max_distance_km=100)
    stack = result.terrain.stack
    assert [layer.label for layer in stack.layers] == [
        "south-pole-40m", "south-pole-200m", "lola-polar-south-1600m"]
    assert [ev.spec.pixel_m for ev in result.evaluations] == [1600.0, 200.0, 40.0]
    assert result.psr_source.startswith("LOLA PSR polygons")
    assert set(result.table["terrain_m"]) <= {40, 200, 1600}
    assert (result.table["terrain_m"] < 1600).any()
    for row in result.table.itertuples():
        if row.terrain_m > 100:
            assert f"{row.name} {row.terrain_m:,.0f} m" in result.terrain.warning
    assert result.table["place"].str.len().min() > 0
    info = result.explain(float(result.table.iloc[0]["lat"]),
                          float(result.table.iloc[0]["lon"]))
    assert info["terrain_m"] == float(result.table.iloc[0]["terrain_m"])
    assert info["observer_height_m"] == 2.0


def test_psr_distance_equals_the_distance_to_the_polygons():
    """Distances through boundary pieces equal shapely's distance to the whole polygons
    (holes, multipolygons, points inside, on and far away)."""
    import geopandas as gpd
    import shapely

    from lunatlas.crs import MOON_SOUTH_POLAR
    from lunatlas.siting.terrain import psr_distance_km

    rng = np.random.default_rng(5)
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    radii = 30e3 + 3e3 * np.sin(5 * angles)  # a wavy outline of 200 vertices
    ring = list(zip(radii * np.cos(angles), radii * np.sin(angles), strict=True))
    holed = shapely.Polygon(ring, [[(-5e3, -5e3), (5e3, -5e3), (5e3, 5e3), (-5e3, 5e3)]])
    pair = shapely.MultiPolygon([shapely.box(60e3, 0, 70e3, 10e3),
                                 shapely.box(80e3, -40e3, 90e3, -30e3)])
    psr = gpd.GeoDataFrame(geometry=[holed, pair], crs=MOON_SOUTH_POLAR)
    x = rng.uniform(-120e3, 120e3, (40, 50))
    y = rng.uniform(-120e3, 120e3, (40, 50))
    x[0, 0], y[0, 0] = 0.0, 0.0  # in the hole
    x[0, 1], y[0, 1] = 60e3, 5e3  # on a boundary
    got = psr_distance_km(psr, MOON_SOUTH_POLAR, x, y)
    points = shapely.points(x, y)
    want = np.minimum(shapely.distance(points, holed), shapely.distance(points, pair)) / 1000.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert got[0, 0] == pytest.approx(5.0) and got[0, 1] == 0.0
