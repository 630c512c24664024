"""A sweep of bad command-line inputs: each ends in one clear line and a non-zero exit (1 for
bad values, 2 for click's usage errors), never a traceback, and the atlas is left as it was.
"""

import shutil

import pytest
from click.testing import CliRunner

from lunatlas.cli.main import cli
from lunatlas.data.fetch import sha256_of

ANALYSIS_HEADER = "institution,sample_id,mission,method,age_ga,age_sigma_ga\n"

# (files to create {name: text or bytes}, arguments ({d}: the folder, {a}: the atlas))
CASES = {
    "analyses missing": ({}, ["samples", "add", "{d}/none.csv", "--atlas", "{a}"]),
    "analyses empty": ({"a.csv": ""}, ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "analyses binary": ({"a.csv": b"\x89PNG\r\n\x1a\n\x00\x00"},
                        ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "analyses header only": ({"a.csv": ANALYSIS_HEADER},
                             ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "age as text": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Chang'e 5,Pb-Pb,old,0.01\n"},
                    ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "age negative": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Chang'e 5,Pb-Pb,-2,0.01\n"},
                     ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "age beyond the Moon": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Chang'e 5,Pb-Pb,9.9,0.01\n"},
                            ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "sigma zero": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Chang'e 5,Pb-Pb,2.0,0\n"},
                   ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "unknown mission": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Apollo 99,Pb-Pb,2.0,0.01\n"},
                        ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "NUL in sample id": ({"a.csv": ANALYSIS_HEADER + "Lab,S\x001,Chang'e 5,Pb-Pb,2.0,0.01\n"},
                         ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "duplicate sample": ({"a.csv": ANALYSIS_HEADER + "Lab,S1,Chang'e 5,Pb-Pb,2.0,0.01\n"
                                  "Lab,S1,Chang'e 5,Pb-Pb,2.0,0.01\n"},
                         ["samples", "add", "{d}/a.csv", "--atlas", "{a}"]),
    "JSON true as age": ({"a.json": '[{"institution": "Lab", "sample_id": "S1", "mission": '
                                    '"Chang\'e 5", "method": "Pb-Pb", "age_ga": true, '
                                    '"age_sigma_ga": 0.01}]'},
                         ["samples", "add", "{d}/a.json", "--atlas", "{a}"]),
    "JSON broken": ({"a.json": "[{"}, ["samples", "add", "{d}/a.json", "--atlas", "{a}"]),
    "atlas not an atlas": ({"x.gpkg": "nope", "a.csv": ANALYSIS_HEADER},
                           ["samples", "add", "{d}/a.csv", "--atlas", "{d}/x.gpkg"]),
    "diff unknown edition": ({}, ["atlas", "diff", "1", "99", "--atlas", "{a}"]),
    "diff not a number": ({}, ["atlas", "diff", "one", "2", "--atlas", "{a}"]),
    "build min crater nan": ({}, ["atlas", "build", "--atlas", "{a}", "--min-crater-km",
                                  "nan"]),
    "build min crater negative": ({}, ["atlas", "build", "--atlas", "{a}", "--min-crater-km",
                                       "-1"]),
    "build DEM is text": ({"d.tif": "text"}, ["atlas", "build", "--atlas", "{a}", "--dem",
                                              "{d}/d.tif"]),
    "point latitude 100": ({}, ["light", "point", "--lat", "100", "--lon", "0", "--start",
                                "2026-01-01", "--end", "2026-01-02"]),
    "point longitude nan": ({}, ["light", "point", "--lat", "-89", "--lon", "nan", "--start",
                                 "2026-01-01", "--end", "2026-01-02"]),
    "point end before start": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                                    "2026-02-01", "--end", "2026-01-01"]),
    "point date garbage": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                                "tomorrow-ish", "--end", "2026-01-01"]),
    "point step zero": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                             "2026-01-01", "--end", "2026-01-02", "--step", "0"]),
    "point step nan": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                            "2026-01-01", "--end", "2026-01-02", "--step", "nan"]),
    "point too many instants": ({}, ["light", "point", "--lat", "-89", "--lon", "0",
                                     "--start", "1950-01-01", "--end", "2049-12-31",
                                     "--step", "0.01"]),
    "point outside ephemeris": ({}, ["light", "point", "--lat", "-89", "--lon", "0",
                                     "--start", "2070-01-01", "--end", "2070-01-02"]),
    "point two azimuths": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                                "2026-01-01", "--end", "2026-01-02", "--azimuths", "2"]),
    "point DEM missing": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                               "2026-01-01", "--end", "2026-01-02", "--dem", "{d}/no.tif"]),
    "point plot to a folder": ({}, ["light", "point", "--lat", "-89", "--lon", "0", "--start",
                                    "2026-01-01", "--end", "2026-01-02", "--plot", "{d}"]),
    "point plot without a suffix": ({}, ["light", "point", "--lat", "-89", "--lon", "0",
                                         "--start", "2026-01-01", "--end", "2026-01-02",
                                         "--plot", "{d}/plot"]),
    "map DEM is text": ({"d.tif": "text"}, ["light", "map", "--start", "2026-01-01", "--end",
                                            "2026-01-02", "--dem", "{d}/d.tif", "--out",
                                            "{d}/out"]),
    "site unknown region": ({}, ["site", "--region", "atlantis", "--atlas", "{a}", "--out",
                                 "{d}/out"]),
    "site region outside": ({}, ["site", "--region", "95,0,10", "--atlas", "{a}", "--out",
                                 "{d}/out"]),
    "site criteria missing": ({}, ["site", "--region", "south-pole", "--criteria",
                                   "{d}/none.toml", "--atlas", "{a}", "--out", "{d}/out"]),
    "site criteria not TOML": ({"c.toml": "weights = [[["},
                               ["site", "--region", "south-pole", "--criteria", "{d}/c.toml",
                                "--atlas", "{a}", "--out", "{d}/out"]),
    "site points malformed": ({"p.csv": "name,lat\nA,-89\n"},
                              ["site", "--region", "south-pole", "--points", "{d}/p.csv",
                               "--atlas", "{a}", "--out", "{d}/out"]),
    "fit count missing": ({}, ["chronology", "fit", "{d}/none.scc", "--range", "1", "10"]),
    "fit count garbage": ({"c.scc": "garbage\n\x00\x01"},
                          ["chronology", "fit", "{d}/c.scc", "--range", "1", "10"]),
    "fit range reversed": ({}, ["chronology", "fit", "{d}/none.scc", "--range", "10", "1"]),
    "fit unknown chronology": ({"c.csv": "diameter_km\n1.2\n2.5\n"},
                               ["chronology", "fit", "{d}/c.csv", "--range", "1", "10",
                                "--area", "100", "--chronology", "martian-2099"]),
    "count unknown catalogue": ({}, ["chronology", "count", "--unit", "Em", "--catalog",
                                     "nope", "--atlas", "{a}"]),
    "token unknown role": ({}, ["service", "add-token", "--atlas", "{a}", "--institution",
                                "X", "--role", "emperor"]),
    "token negative days": ({}, ["service", "add-token", "--atlas", "{a}", "--institution",
                                 "X", "--role", "reader", "--days", "-3"]),
    "unknown dataset": ({}, ["data", "fetch", "lola-9000"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_line(name, built_atlas, tmp_path):
    files, args = CASES[name]
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = sha256_of(atlas)
    for file_name, content in files.items():
        path = tmp_path / file_name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    args = [a.format(d=tmp_path, a=atlas) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{name}: {type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (1, 2), f"{name}: exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines()
              if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, f"{name}: expected one error line, got:\n{result.output}"
    assert sha256_of(atlas) == before
