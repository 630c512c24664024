"""HTTP API: every endpoint, the permission matrix, bad input, and the contribution flow."""

import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lunatlas.data.fetch import sha256_of
from lunatlas.web import create_app


@pytest.fixture
def service(built_atlas, tmp_path):
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    app = create_app(atlas)
    store = app.state.store
    tokens = {
        "reader": store.add_token("NAOC", "reader"),
        "contributor": store.add_token("NAOC", "contributor"),
        "curator": store.add_token("NAOC", "curator"),
        "other_curator": store.add_token("GIG", "curator"),
    }
    return TestClient(app), tokens, atlas


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


ANALYSIS = {"institution": "NAOC", "sample_id": "CE6-X1", "mission": "Chang'e 6",
            "method": "Pb-Pb", "age_ga": 2.70, "age_sigma_ga": 0.002}


def test_read_endpoints(service):
    client, _, _ = service
    assert client.get("/openapi.json").json()["info"]["title"] == "Lunatlas"
    assert client.get("/api/editions").json()[0]["edition"] == 1
    assert {"units", "craters", "sites"} <= {x["name"] for x in client.get("/api/layers").json()}
    page = client.get("/api/layers/craters", params={"limit": 10, "offset": 5}).json()
    assert len(page["features"]) == 10 and page["total"] > 800 and page["crs"] == "IAU_2015:30100"
    polar = client.get("/api/layers/craters", params={"bbox": "-180,-90,180,-85"}).json()
    assert 0 < polar["total"] < 100
    assert all(f["geometry"]["coordinates"][1] <= -85 for f in polar["features"])
    q = client.get("/api/query", params={"lat": -41.62, "lon": -153.99}).json()
    assert q["count_area"]["unit_code"] == "CE-6_8km_vicinity"
    # the atlas chronology (classic set + Chang'e 5 and 6) dates the CE-6 count at ≈ 2.4 Ga
    assert 2.0 < q["count_area"]["model_age_ga"] < 3.0
    assert q["unit"]["symbol"] == "Im2" and q["unit"]["epoch"] == "Imbrian"
    assert q["unit"]["model_age_ga"] == q["count_area"]["model_age_ga"]  # the count dates it
    assert {s["mission"] for s in q["unit"]["sample_ages"]} == {"Chang'e 6"}
    far_side = client.get("/api/query", params={"lat": -43.3, "lon": -11.36}).json()
    assert far_side["unit"]["symbol"] == "Cc" and far_side["count_area"] is None  # Tycho
    legend = client.get("/api/units/legend", params={"view": "south-polar"}).json()
    assert {"pNb", "Ec"} <= {u["symbol"] for u in legend}
    assert legend[-1]["epoch"] == "pre-Nectarian" and legend[0]["colour"].startswith("#")
    assert q["nearest_samples"][0]["mission"] == "Chang'e 6"
    assert client.get("/api/sites").json() == []
    chron = client.get("/api/chronologies").json()
    assert {c["key"] for c in chron["published"]} >= {"yue2022", "neukum2001"}
    assert client.get("/api/diff", params={"a": 1, "b": 1}).status_code == 200


@pytest.mark.parametrize("path, params, status", [
    ("/api/layers/..%2F..%2Fetc%2Fpasswd", {}, 404),
    ("/api/layers/craters", {"bbox": "0,0,1;DROP TABLE craters"}, 422),
    ("/api/layers/craters", {"bbox": "10,0,5,1"}, 422),
    ("/api/layers/craters", {"limit": 0}, 422),
    ("/api/layers/craters", {"edition": 99}, 404),
    ("/api/query", {"lat": 95, "lon": 0}, 422),
    ("/api/query", {"lat": "x' OR 1=1", "lon": 0}, 422),
    ("/api/diff", {"a": 1, "b": 7}, 404),
])
def test_bad_read_requests_are_4xx(service, path, params, status):
    client, _, atlas = service
    before = sha256_of(atlas)
    response = client.get(path, params=params)
    assert response.status_code == status
    assert "Traceback" not in response.text
    assert sha256_of(atlas) == before


def test_permission_matrix(service):
    client, tokens, atlas = service
    before = sha256_of(atlas)
    submit = "/api/contributions/analyses"
    assert client.post(submit, json=[ANALYSIS]).status_code == 401
    bad = client.post(submit, json=[ANALYSIS], headers=_auth("not-a-token"))
    assert bad.status_code == 401 and bad.json() == {"detail": "invalid token"}
    assert client.post(submit, json=[ANALYSIS], headers=_auth(tokens["reader"])).status_code \
        == 403
    made = client.post(submit, json=[ANALYSIS], headers=_auth(tokens["contributor"]))
    assert made.status_code == 201
    sid = made.json()["id"]
    # Contributors cannot accept; a curator of another institution cannot see or decide it.
    assert client.post(f"/api/contributions/{sid}/accept",
                       headers=_auth(tokens["contributor"])).status_code == 403
    assert client.post(f"/api/contributions/{sid}/accept",
                       headers=_auth(tokens["other_curator"])).status_code == 404
    assert client.post(f"/api/contributions/{sid}/reject",
                       headers=_auth(tokens["other_curator"])).status_code == 404
    assert client.get("/api/audit", headers=_auth(tokens["contributor"])).status_code == 403
    rejected = client.post(f"/api/contributions/{sid}/reject", headers=_auth(tokens["curator"]))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert client.post(f"/api/contributions/{sid}/accept",
                       headers=_auth(tokens["curator"])).status_code == 409
    # Submitting on another institution's behalf is refused.
    foreign = dict(ANALYSIS, institution="GIG", sample_id="Y")
    assert client.post(submit, json=[foreign], headers=_auth(tokens["contributor"])
                       ).status_code == 422
    assert sha256_of(atlas) == before


def test_contribution_flow_creates_a_redated_edition(service):
    client, tokens, _ = service
    sid = client.post("/api/contributions/analyses", json=[ANALYSIS],
                      headers=_auth(tokens["contributor"])).json()["id"]
    listed = client.get("/api/contributions", headers=_auth(tokens["curator"])).json()
    assert listed[0]["status"] == "pending"
    decided = client.post(f"/api/contributions/{sid}/accept", headers=_auth(tokens["curator"]))
    assert decided.status_code == 200 and decided.json()["edition"] == 2
    again = client.post(f"/api/contributions/{sid}/accept", headers=_auth(tokens["curator"]))
    assert again.status_code == 409
    diff = client.get("/api/diff", params={"a": 1, "b": 2}).json()
    areas = next(d for d in diff if d["layer"] == "count_areas")
    changed = {c["record_id"]: c for c in areas["changed"]}
    assert "count:CE-6_8km_vicinity" in changed
    assert any(f["field"] == "model_age_ga" for f in changed["count:CE-6_8km_vicinity"]["fields"])
    units = next(d for d in diff if d["layer"] == "units")  # the unit the count dates
    assert any(f["field"] == "model_age_ga" for c in units["changed"] for f in c["fields"])
    log = [e for e in client.get("/api/audit", headers=_auth(tokens["curator"])).json()
           if not e["action"].startswith("write-")]  # (the attempts are audited as well)
    assert [e["action"] for e in log][-2:] == ["submitted", "accepted"]
    assert log[-1]["edition"] == 2


def test_invalid_payloads_and_size_limit(service):
    client, tokens, _ = service
    headers = _auth(tokens["contributor"])
    bad_age = client.post("/api/contributions/analyses",
                          json=[dict(ANALYSIS, age_ga=9.0)], headers=headers)
    assert bad_age.status_code == 422 and "row 1, field age_ga" in str(bad_age.json())
    malformed = client.post("/api/contributions/analyses", content=b"{not json",
                            headers=headers | {"Content-Type": "application/json"})
    assert malformed.status_code == 422
    huge = client.post("/api/contributions/analyses", content=b"[" + b" " * 1_100_000 + b"]",
                       headers=headers | {"Content-Type": "application/json"})
    assert huge.status_code == 413


def test_audit_log_is_append_only(service):
    import sqlite3

    client, tokens, _ = service
    store = client.app.state.store
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), \
            sqlite3.connect(store.path) as con:
        con.execute("DELETE FROM audit")
    assert len(store.audit_log()) >= 4
    with sqlite3.connect(store.path) as con:
        hashes = [r[0] for r in con.execute("SELECT token_hash FROM tokens")]
    assert tokens["curator"] not in hashes and len(hashes[0]) == 64


def test_write_rate_limit(service, monkeypatch):
    """Writes are limited per token (reads are not counted; a colleague's token of the same
    institution and role is not throttled)."""
    from lunatlas.web import app as web_app
    from lunatlas.web.service import ServiceStore

    client, tokens, atlas = service
    reads = [client.get("/api/contributions", headers=_auth(tokens["reader"])).status_code
             for _ in range(web_app.WRITES_PER_MINUTE + 2)]
    assert set(reads) == {200}
    bad = [dict(ANALYSIS, age_ga=9.0)]  # refused (422) but counted as a write attempt
    codes = [client.post("/api/contributions/analyses", json=bad,
                         headers=_auth(tokens["contributor"])).status_code
             for _ in range(web_app.WRITES_PER_MINUTE + 2)]
    assert codes[0] == 422 and codes[-1] == 429
    colleague = ServiceStore(atlas.with_suffix(".service.sqlite")).add_token("NAOC",
                                                                              "contributor")
    assert client.post("/api/contributions/analyses", json=bad,
                       headers=_auth(colleague)).status_code == 422


def test_site_assessments_are_owned_by_their_institution(service):
    client, tokens, _ = service
    assessment = {"institution": "NAOC", "name": "Rim A", "lat": -89.4, "lon": -140.0,
                  "score": 0.8, "notes": "<b>good light</b>"}
    sid = client.post("/api/contributions/sites", json=[assessment],
                      headers=_auth(tokens["contributor"])).json()["id"]
    foreign = dict(assessment, institution="GIG")
    assert client.post("/api/contributions/sites", json=[foreign],
                       headers=_auth(tokens["contributor"])).status_code == 422
    assert client.post("/api/contributions/sites", json=[dict(assessment, score=2)],
                       headers=_auth(tokens["contributor"])).status_code == 422
    assert client.post(f"/api/contributions/{sid}/accept",
                       headers=_auth(tokens["other_curator"])).status_code == 404
    accepted = client.post(f"/api/contributions/{sid}/accept", headers=_auth(tokens["curator"]))
    assert accepted.status_code == 200 and accepted.json()["edition"] == 2
    sites = client.get("/api/sites").json()
    assert [s["record_id"] for s in sites] == ["assessment:NAOC:Rim%20A"]  # URL-quoted
    assert sites[0]["scores"]["notes"] == "<b>good light</b>"  # stored as data, escaped in UI


def test_tiles_and_light_at_a_point(tmp_path):
    from click.testing import CliRunner

    from lunatlas.cli.main import cli

    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["site", "--out", str(out), "--start", "2026-01-01",
                                      "--end", "2026-01-20", "--step", "12"])
    assert result.exit_code == 0, result.output
    client = TestClient(create_app(out / "atlas.gpkg"))
    tms = client.get("/api/tms").json()
    assert tms["crs"] == "IAU_2015:30135" and set(tms["rasters"]) == {
        "hillshade", "geology", "suitability", "illumination"}
    import warnings

    with warnings.catch_warnings():  # the server log stays clean: no numpy warnings
        warnings.simplefilter("error", RuntimeWarning)
        for name in ("hillshade", "suitability", "illumination"):
            for x, y in ((0, 0), (1, 1)):
                tile = client.get(f"/api/tiles/{name}/1/{x}/{y}.png")
                assert tile.status_code == 200 and tile.content[:8] == b"\x89PNG\r\n\x1a\n"
    # geologic units: class codes coloured in the official unit colours, both views
    import io

    from PIL import Image

    from lunatlas.geology.classify import hex_rgb
    from lunatlas.geology.units import unit_table

    official = {hex_rgb(c) for c in unit_table()["colour"]}
    for name in ("geology", "geology-global"):
        png = client.get(f"/api/tiles/{name}/0/0/0.png")
        assert png.status_code == 200, name
        pixels = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGBA"))
        opaque = {tuple(int(v) for v in p[:3]) for p in pixels.reshape(-1, 4) if p[3] > 0}
        assert opaque and opaque <= official, name
    assert client.get("/api/tiles/hillshade/13/0/0.png").status_code == 422
    assert client.get("/api/tiles/hillshade/1/2/0.png").status_code == 422
    assert client.get("/api/tiles/..%2F..%2Fatlas/1/0/0.png").status_code == 404
    assert client.get("/api/tiles/dem/1/0/0.png").status_code == 404
    assert client.get("/api/tiles/hillshade/8/0/0.png").status_code == 204  # outside
    light = client.get("/api/query", params={"lat": -89.5, "lon": 0}).json()["light"]
    assert 0.0 <= light["illumination_fraction"] <= 1.0
    assert client.get("/", headers={"Accept": "text/html"}).status_code in (200, 503)


def test_docs_are_served_without_a_cdn(tmp_path):
    """/docs loads Swagger UI from the local swagger-ui-dist, never from a CDN."""
    from pathlib import Path

    from lunatlas.workflows import build_atlas

    static = Path(__file__).resolve().parents[1] / "src/lunatlas/web/static/node_modules"
    if not (static / "swagger-ui-dist").is_dir():
        pytest.skip("viewer assets not installed (npm ci --prefix src/lunatlas/web/static)")
    atlas = tmp_path / "atlas.gpkg"
    build_atlas(atlas)
    client = TestClient(create_app(atlas))
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "/vendor/swagger-ui-dist/" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/vendor/swagger-ui-dist/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_racing_decisions_yield_exactly_one_winner(service):
    """Six decisions (accept and reject) sent at once on one submission: exactly one 200,
    the rest 409; one decision in the audit log; the atlas has at most one new edition."""
    from concurrent.futures import ThreadPoolExecutor

    from lunatlas.atlas import Atlas

    client, tokens, atlas = service
    assessment = {"institution": "NAOC", "name": "race", "lat": -89.4, "lon": -137.0,
                  "score": 0.9, "notes": "race test"}
    sid = client.post("/api/contributions/sites", json=[assessment],
                      headers=_auth(tokens["contributor"])).json()["id"]
    editions_before = Atlas(atlas).latest

    def decide(action):
        return client.post(f"/api/contributions/{sid}/{action}",
                           headers=_auth(tokens["curator"])).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(decide, ["accept", "reject"] * 3))
    assert sorted(codes) == [200, 409, 409, 409, 409, 409], codes
    audit = client.get("/api/audit", headers=_auth(tokens["curator"])).json()
    decisions = [r for r in audit if r["detail"] == f"submission {sid}"
                 and r["action"] in ("accepted", "rejected")]
    assert len(decisions) == 1
    assert Atlas(atlas).latest - editions_before <= 1


def test_chunked_bodies_are_limited_and_writes_authenticated_first(service):
    """A chunked upload (no Content-Length) is cut off at the limit on the bytes actually
    read, and an unauthenticated write is refused before its body is read."""
    client, tokens, _ = service
    read = {"chunks": 0}

    def body(chunks: int):
        for _ in range(chunks):
            read["chunks"] += 1
            yield b"x" * 100_000

    anonymous = client.post("/api/contributions/analyses", content=body(50))
    assert anonymous.status_code == 401 and read["chunks"] <= 2
    read["chunks"] = 0
    big = client.post("/api/contributions/analyses", content=body(50),
                      headers=_auth(tokens["contributor"]))
    assert big.status_code == 413  # (the test client itself reads the whole stream)


def test_security_headers_tokens_expire_and_revoke_and_site_names_stay_distinct(service):
    from lunatlas.web.service import ServiceStore

    client, tokens, atlas = service
    page = client.get("/api/editions")
    for header in ("content-security-policy", "x-content-type-options", "referrer-policy",
                   "x-frame-options"):
        assert header in page.headers, header
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    store = ServiceStore(atlas.with_suffix(".service.sqlite"))
    short = store.add_token("NAOC", "reader", days=1e-9)  # already expired
    assert client.get("/api/contributions", headers=_auth(short)).status_code == 401
    listed = {t["id"]: t for t in store.list_tokens()}
    token_id = next(i for i, t in listed.items() if t["role"] == "curator"
                    and t["institution"] == "NAOC")
    store.revoke_token(token_id)
    assert client.get("/api/audit", headers=_auth(tokens["curator"])).status_code == 401
    # "a b" and "a_b" are two sites, not one record id (the accept used to fail forever)
    curator = store.add_token("NAOC", "curator")
    rows = [{"institution": "NAOC", "name": n, "lat": -89.3, "lon": 10.0, "score": 0.5,
             "notes": ""} for n in ("a b", "a_b")]
    sid = client.post("/api/contributions/sites", json=rows,
                      headers=_auth(tokens["contributor"])).json()["id"]
    accepted = client.post(f"/api/contributions/{sid}/accept", headers=_auth(curator))
    assert accepted.status_code == 200, accepted.text
    audit = client.get("/api/audit", headers=_auth(curator)).json()
    assert audit and all(r["institution"] == "NAOC" for r in audit)


def test_every_write_attempt_is_audited_with_its_outcome(service):
    client, tokens, atlas = service
    from lunatlas.web.service import ServiceStore

    client.post("/api/contributions/analyses", json=[ANALYSIS])  # anonymous: 401
    client.post("/api/contributions/analyses", json=[ANALYSIS],
                headers=_auth(tokens["reader"]))  # 403
    client.post("/api/contributions/analyses", json=[dict(ANALYSIS, age_ga=9.0)],
                headers=_auth(tokens["contributor"]))  # 422
    made = client.post("/api/contributions/analyses", json=[ANALYSIS],
                       headers=_auth(tokens["contributor"]))
    assert made.status_code == 201
    rows = ServiceStore(atlas.with_suffix(".service.sqlite")).audit_log()
    attempts = [(r["institution"], r["action"], r["detail"][-3:]) for r in rows
                if r["action"].startswith("write-")]
    assert ("anonymous", "write-refused", "401") in attempts
    assert ("NAOC", "write-refused", "403") in attempts
    assert ("NAOC", "write-refused", "422") in attempts
    assert ("NAOC", "write-done", "201") in attempts


def test_rerunning_site_keeps_accepted_assessments(service, tmp_path):
    from click.testing import CliRunner

    from lunatlas.atlas import Atlas
    from lunatlas.cli.main import cli

    client, tokens, atlas = service
    row = {"institution": "NAOC", "name": "Ridge B", "lat": -89.4, "lon": -137.0,
           "score": 0.9, "notes": ""}
    sid = client.post("/api/contributions/sites", json=[row],
                      headers=_auth(tokens["contributor"])).json()["id"]
    assert client.post(f"/api/contributions/{sid}/accept",
                       headers=_auth(tokens["curator"])).status_code == 200
    for _ in range(2):  # the job twice: its own sites are replaced, the assessment stays
        result = CliRunner().invoke(cli, ["site", "--out", str(tmp_path), "--atlas",
                                          str(atlas), "--start", "2026-01-01", "--end",
                                          "2026-01-10", "--step", "24"])
        assert result.exit_code == 0, result.output
        sites = Atlas(atlas).layer("sites")
        assert "assessment:NAOC:Ridge%20B" in sites.index
        assert sum(str(r).startswith("site:") for r in sites.index) == 5


def test_service_accepts_and_cli_writers_race_without_losing_science(service, tmp_path):
    """Three CLI `samples add` processes and a service accept at the same time: every
    analysis lands, and the final edition's chronology and count-area ages equal a refit of
    the samples stored in it."""
    import subprocess
    import sys
    import threading

    from lunatlas.atlas import Atlas
    from lunatlas.samples.enrich import date_atlas

    client, tokens, atlas = service
    sid = client.post("/api/contributions/analyses", json=[ANALYSIS],
                      headers=_auth(tokens["contributor"])).json()["id"]
    files = []
    for i, age in enumerate((2.58, 2.66, 2.77)):
        path = tmp_path / f"cli{i}.csv"
        path.write_text("institution,sample_id,mission,method,age_ga,age_sigma_ga\n"
                        f"Lab {i},CE6-C{i},Chang'e 6,Pb-Pb,{age},0.01\n")
        files.append(path)
    accepted = {}
    thread = threading.Thread(target=lambda: accepted.update(code=client.post(
        f"/api/contributions/{sid}/accept", headers=_auth(tokens["curator"])).status_code))
    procs = [subprocess.Popen([sys.executable, "-m", "lunatlas.cli.main", "samples", "add",
                               str(f), "--atlas", str(atlas)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for f in files]
    thread.start()
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    thread.join(timeout=300)
    assert accepted.get("code") == 200 and all(p.returncode == 0 for p in procs), outputs
    store = Atlas(atlas)
    samples = store.layer("samples").reset_index()
    assert {"CE6-X1", "CE6-C0", "CE6-C1", "CE6-C2"} <= set(samples["sample_id"])
    areas = store.layer("count_areas")
    refit = date_atlas(samples, areas.reset_index()[["record_id", "unit_code", "name",
                                                     "geometry"]],
                       store.layer("counts").reset_index())
    assert store.layer("chronologies").iloc[0]["a"] == pytest.approx(refit.calibration.cf.a,
                                                                      rel=1e-5)
    fresh = refit.count_areas.set_index("record_id")["model_age_ga"]
    for rid, age in areas["model_age_ga"].items():
        assert age == pytest.approx(fresh[rid], abs=1e-4), rid
