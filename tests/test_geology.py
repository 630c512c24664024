"""Geologic units: classification of the rendering, the embedded product, unit polygons,
the official GIS reader, ages attached to units, and the geologic context of siting."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from lunatlas.crs import MOON_GEOGRAPHIC, MOON_RADIUS_M, MOON_SOUTH_POLAR
from lunatlas.errors import ChecksumError, InputError, LunarCRSError, RasterError
from lunatlas.geology.classify import classify_rendering, hex_rgb
from lunatlas.geology.polygons import pixel_areas_km2, units_at, vectorise_classes
from lunatlas.geology.product import PRODUCT_TABLE, load_product, read_rendering
from lunatlas.geology.units import EPOCHS, unit_table


@pytest.fixture(scope="module")
def product():
    return load_product()


@pytest.fixture(scope="module")
def units(product):
    return vectorise_classes(product.classes, product.transform, product.table, "product",
                             "test")


def test_unit_table_has_the_49_official_colours(shared_data):
    official = json.loads((shared_data / "geology_usgs_unified/unit_colors_official.json")
                          .read_text())
    table = unit_table()
    assert len(table) == 49
    assert table["colour"].to_dict() == official
    assert set(table["epoch_code"]) <= set(EPOCHS)


def test_product_is_compact_checksummed_and_says_what_it_is(product, tmp_path):
    assert product.classes.shape == (1024, 2048) and product.classes.dtype == np.uint8
    assert "not the vector map" in product.meta["provenance"]
    folder = tmp_path / "product"
    shutil.copytree(product_folder := load_product.__globals__["product_folder"](), folder)
    size = sum(p.stat().st_size for p in product_folder.iterdir()
               if p.name.startswith("unified_classes"))
    assert size <= 2_000_000
    meta = json.loads((folder / PRODUCT_TABLE).read_text())
    meta["raster_sha256"] = "0" * 64
    (folder / PRODUCT_TABLE).write_text(json.dumps(meta))
    with pytest.raises(ChecksumError, match="unified_classes.tif"):
        load_product(folder)


@pytest.mark.shared_data
def test_build_script_reproduces_the_embedded_product(shared_data, tmp_path, product):
    """The committed product is what the script makes from the shared rendering."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_geology_product.py"
    subprocess.run([sys.executable, str(script), "--data-dir", str(shared_data), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    rebuilt = load_product(tmp_path)
    assert rebuilt.meta["raster_sha256"] == product.meta["raster_sha256"]
    assert 0.70 < rebuilt.meta["confident_fraction"] < 0.80  # MANIFEST: ≈ 74 % within 20


def _synthetic_rendering(rng):
    """Four units in blocks, JPEG-like noise, a band of off-palette pixels at contacts."""
    table = unit_table()
    colours = {s: np.array(hex_rgb(table.loc[s, "colour"])) for s in ("Em", "Cc", "INp", "pNt")}
    rgb = np.zeros((64, 128, 3))
    rgb[:, :64] = colours["Em"]
    rgb[:, 64:] = colours["pNt"]
    rgb[10:30, 10:40] = colours["Cc"]
    rgb[40:60, 80:120] = colours["INp"]  # shares its colour with Ig
    rgb[:, 62:66] = [90, 90, 90]  # contact line: far from every unit colour
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def test_classification_recovers_units_fills_contacts_and_resolves_pairs():
    rgb = _synthetic_rendering(np.random.default_rng(1))
    table = unit_table()
    lon_lat_of = lambda r, c: (-180 + (c + 0.5) * 360 / 128, 90 - (r + 0.5) * 180 / 64)  # noqa: E731
    lon, lat = lon_lat_of(50, 100)
    labels = pd.DataFrame({"symbol": ["Ig"], "lon": [lon], "lat": [lat]})
    result = classify_rendering(rgb, table, labels, min_area_px=4)
    codes = result.codes
    assert result.classes[5, 5] == codes.code("Em")
    assert result.classes[20, 20] == codes.code("Cc")
    assert result.classes[5, 100] == codes.code("pNt")
    assert (result.classes > 0).all()  # the contact line was filled from its neighbours
    assert result.classes[30, 63] in (codes.code("Em"), codes.code("pNt"))
    assert result.classes[50, 100] == codes.code("Ig")  # resolved by the Ig label point
    (area,) = result.pair_areas
    assert area["pair"] == "INp/Ig" and area["labels"] == {"INp": 0, "Ig": 1}
    assert area["resolved"] == "Ig" and 790 <= area["pixels"] <= 800  # modal filter: corners
    unresolved = classify_rendering(rgb, table, None, min_area_px=4)
    pair = unresolved.classes[50, 100]
    assert unresolved.codes.describe(int(pair)) == ("INp", unresolved.codes.pairs[0])


def test_unresolved_pair_polygons_say_so(units):
    ambiguous = units[units["ambiguity"] != ""]
    assert len(ambiguous) > 0
    assert set(ambiguous["symbol"]) <= {"INp", "Csc", "Nbl"}
    assert ambiguous["ambiguity"].str.contains("no 1:5M label point").all()


# Expected units read from the Unified Geologic Map (Fortezzo et al. 2020) at well-known
# places: fresh rayed craters are Cc; the Chang'e 5 and Apollo 12 mare are the young
# Eratosthenian flows (Em); Apollo 14 stands on the Fra Mauro Formation (Iif); the Rima
# Bode / Sinus Aestuum dark mantle is Id; the Orientale Montes Rook massifs are Iorm; the
# Apollo 11, Luna 24 and central Serenitatis/Crisium maria are Upper Imbrian mare (Im2).
WELL_KNOWN = [
    ("Chang'e 5", 43.058, -51.916, "Em"), ("Apollo 12", -3.012, -23.422, "Em"),
    ("Tycho", -43.30, -11.36, "Cc"), ("Copernicus", 9.62, -20.08, "Cc"),
    ("Aristarchus", 23.7, -47.4, "Cc"), ("Kepler", 8.1, -38.0, "Cc"),
    ("Apollo 14", -3.645, -17.471, "Iif"), ("Rima Bode dark mantle", 12.0, -4.0, "Id"),
    ("Montes Rook", -20.0, -82.0, "Iorm"), ("Apollo 11", 0.674, 23.473, "Im2"),
    ("Luna 24", 12.714, 62.213, "Im2"), ("Mare Serenitatis", 27.0, 18.0, "Im2"),
    ("Mare Crisium", 17.0, 59.0, "Im2"),
]


def test_unit_at_well_known_places(units):
    lat = np.array([p[1] for p in WELL_KNOWN])
    lon = np.array([p[2] for p in WELL_KNOWN])
    found = units_at(units, lon, lat)
    got = {name: units["symbol"].iat[i] for (name, *_), i in zip(WELL_KNOWN, found, strict=True)}
    assert got == {name: symbol for name, _, _, symbol in WELL_KNOWN}


def test_polygon_areas_match_the_pixel_areas_per_unit(units, product):
    row_area = pixel_areas_km2(product.classes.shape, product.transform)
    by_code = {int(r["code"]): r["symbol"] for r in product.table}
    pixel_area = pd.Series(0.0, index=sorted(set(by_code.values())))
    for code, symbol in by_code.items():
        rows = np.nonzero(product.classes == code)[0]
        pixel_area[symbol] += row_area[rows].sum()
    polygon_area = units.groupby("symbol")["area_km2"].sum()
    pixel_area = pixel_area[pixel_area > 0]
    assert set(polygon_area.index) == set(pixel_area.index)
    rel = (polygon_area - pixel_area[polygon_area.index]).abs() / pixel_area[polygon_area.index]
    assert rel.max() < 1e-3, rel.sort_values().tail()
    sphere = 4 * np.pi * (MOON_RADIUS_M / 1000) ** 2
    assert abs(units["area_km2"].sum() / sphere - 1) < 1e-3
    assert units["record_id"].is_unique


def test_rendering_of_wrong_size_or_projection_is_refused(tmp_path):
    from PIL import Image

    small = tmp_path / "small.jpg"
    Image.fromarray(np.zeros((100, 200, 3), np.uint8)).save(small)
    with pytest.raises(RasterError, match=r"small.jpg: 200×100 .*expected the 2048×1024"):
        read_rendering(small)
    polar = tmp_path / "polar.tif"
    with rasterio.open(polar, "w", driver="GTiff", width=2048, height=1024, count=3,
                       dtype="uint8", crs=MOON_SOUTH_POLAR.to_wkt(),
                       transform=from_origin(-1e6, 1e6, 1000, 1000)) as dst:
        dst.write(np.zeros((3, 1024, 2048), np.uint8))
    with pytest.raises(RasterError, match="polar.tif: projection .*expected a global plate"):
        read_rendering(polar)


def _geounits_file(path, symbols, polygons, crs=MOON_GEOGRAPHIC):
    frame = gpd.GeoDataFrame({"FIRST_Unit": symbols,
                              "FIRST_Un_1": [f"name of {s}" for s in symbols]},
                             geometry=polygons, crs=crs)
    frame.to_file(path, layer="GeoUnits", driver="GPKG")
    return path


def test_official_geounits_reader_and_preference(tmp_path):
    from lunatlas.geology.gis import read_geounits
    from lunatlas.geology.sources import GIS_DATASET, geologic_units

    folder = tmp_path / "data" / "geology_usgs_unified_gis"
    folder.mkdir(parents=True)
    path = _geounits_file(folder / "GeoUnits.gpkg", ["Em", "pNt"],
                          [shapely.box(-10, 0, 0, 10), shapely.box(0, 0, 10, 10)])
    units = read_geounits(path)
    assert list(units["symbol"]) == ["Em", "pNt"]
    assert units.loc[units["symbol"] == "pNt", "epoch"].item() == "pre-Nectarian"
    assert units["name"].tolist() == ["name of Em", "name of pNt"]
    assert units["source"].str.contains("vector GeoUnits").all()
    chosen, source = geologic_units(tmp_path / "data")
    assert source == GIS_DATASET and len(chosen) == 2


def test_geounits_reader_refuses_bad_records(tmp_path):
    from lunatlas.geology.gis import read_geounits

    unknown = _geounits_file(tmp_path / "unknown.gpkg", ["Em", "Xyz"],
                             [shapely.box(-10, 0, 0, 10), shapely.box(0, 0, 10, 10)])
    with pytest.raises(InputError, match=r"unknown.gpkg layer GeoUnits: record 2, field "
                                         r"FIRST_Unit: unknown unit symbol 'Xyz'"):
        read_geounits(unknown)
    overlap = _geounits_file(tmp_path / "overlap.gpkg", ["Em", "Cc"],
                             [shapely.box(-10, 0, 0, 10), shapely.box(-5, 0, 5, 10)])
    with pytest.raises(InputError, match=r"overlap.gpkg layer GeoUnits: records 1 and 2 "
                                         "overlap"):
        read_geounits(overlap)
    earth = _geounits_file(tmp_path / "earth.gpkg", ["Em"], [shapely.box(0, 0, 1, 1)],
                           crs="EPSG:4326")
    with pytest.raises(LunarCRSError, match="earth.gpkg"):
        read_geounits(earth)


def test_samples_date_the_units_they_lie_on_and_conflicts_are_recorded(built_atlas):
    from lunatlas.atlas import Atlas

    store = Atlas(built_atlas)
    units = store.layer("units")
    dated = units[units["sample_ages_json"].fillna("") != ""]
    missions = {s["mission"] for j in dated["sample_ages_json"] for s in json.loads(j)}
    assert {"Chang'e 5", "Apollo 11", "Apollo 12", "Chang'e 6"} <= missions
    ce5 = dated[dated["sample_ages_json"].str.contains("Chang'e 5")].iloc[0]
    assert ce5["symbol"] == "Em" and ce5["age_conflict"] == ""  # 2.03 Ga in 1.1–3.2 Ga
    ce6 = dated[dated["sample_ages_json"].str.contains("Chang'e 6")].iloc[0]
    ages = [s["age_ga"] for s in json.loads(ce6["sample_ages_json"])]
    assert 4.25 not in ages  # the SPA norite clasts do not date the mare mapped there
    assert "outside the mapped Imbrian" in ce6["age_conflict"]  # 2.8 Ga basalt on Im2
    assert ce6["model_age_ga"] > 2  # the CE-6 count dates the same polygon
    areas = store.layer("count_areas")
    assert areas.loc["count:CE-6_8km_vicinity", "unit_id"] == ce6.name


def test_unit_context_counts_units_and_distances_on_a_polar_grid():
    from lunatlas.geology.context import unit_context

    # pre-Nectarian terra north of 85°S, Copernican crater material south of it
    cap = shapely.box(-180, -90, 180, -85)
    ring = shapely.box(-180, -85, 180, -80)
    units = gpd.GeoDataFrame({"symbol": ["Cc", "pNt"]}, geometry=[cap, ring],
                             crs=MOON_GEOGRAPHIC)
    transform = from_origin(-50_000, 50_000, 1000, 1000)
    ctx = unit_context(units, (100, 100), transform, MOON_SOUTH_POLAR, reach_km=120.0)
    # 85°S lies 151.6 km from the pole: pNt is out of reach at the pole, within reach of
    # the grid's corner (70.7 km from the pole, ≈ 81 km from 85°S)
    assert ctx.units_within_reach[50, 50] == 1
    assert ctx.oldest_km[50, 50] == pytest.approx(151.6, abs=1.5)
    near = ctx.units_near(50, 50)
    assert [u["symbol"] for u in near] == ["Cc"]
    assert ctx.units_within_reach[0, 0] == 2
    value = ctx.science_value()
    assert value[0, 0] > value[50, 50]  # the corner is nearer the pre-Nectarian ring
