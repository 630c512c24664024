"""HTTP API over an atlas (FastAPI; OpenAPI at /openapi.json, docs at /docs).

(No ``from __future__ import annotations`` here: FastAPI resolves the local ``Auth``
dependency alias at run time.)

Read endpoints need no token. Writes need ``Authorization: Bearer <token>``: contributors
submit sample analyses, curators of the same institution accept or reject them; accepting
runs the enrichment loop (new edition, chronology refit, re-dated units). Every write is in
the append-only audit log. Bodies over ``MAX_BODY_BYTES`` are refused (413); writes are
rate-limited per token (429). No Earth CRS anywhere: coordinates are IAU_2015:30100.
"""


import hashlib
import json
import math
import tempfile
import threading
import time
from collections import defaultdict, deque
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import numpy as np
import pandas as pd
import shapely
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from lunatlas.atlas import LAYERS, Atlas
from lunatlas.crs import great_circle_distance_m, normalize_longitude
from lunatlas.errors import LunatlasError
from lunatlas.samples.analyses import Analysis
from lunatlas.web.service import Principal, ServiceStore

MAX_BODY_BYTES = 1_000_000


class BodyGuard:
    """ASGI guard on request bodies: writes to /api/contributions are authenticated before a
    byte of body is read, and a body is read (up to ``limit`` bytes, counted as received,
    since chunked uploads carry no Content-Length) before the app sees it; more is 413."""

    def __init__(self, app, limit: int, authenticate) -> None:
        self.app, self.limit, self.authenticate = app, limit, authenticate

    async def _reply(self, send, status: int, detail: str, extra=()) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), *extra]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["path"].startswith("/api/contributions"):
            token = headers.get(b"authorization", b"").decode("latin-1")
            if not token.startswith("Bearer "):
                await self._reply(send, 401, "missing bearer token",
                                  [(b"www-authenticate", b"Bearer")])
                return
            who = self.authenticate(token[len("Bearer "):].strip())
            if who is None:
                await self._reply(send, 401, "invalid token", [(b"www-authenticate", b"Bearer")])
                return
            scope.setdefault("state", {})["principal"] = who  # not looked up again downstream
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._reply(send, 413, f"request body over {self.limit} bytes")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # disconnected: let the app see it
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._reply(send, 413, f"request body over {self.limit} bytes")
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
WRITES_PER_MINUTE = 30


def _clean(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    if value is pd.NA:
        return None
    return value


def _features(frame: pd.DataFrame) -> list[dict]:
    out = []
    for rid, row in frame.iterrows():
        geometry = row.get("geometry") if "geometry" in frame.columns else None
        props = {k: _clean(v) for k, v in row.items() if k != "geometry"}
        out.append({"type": "Feature", "id": rid, "properties": props,
                    "geometry": None if geometry is None else shapely.geometry.mapping(geometry)})
    return out


class _CachedAtlas(Atlas):
    """Atlas reads cached per file version: a write replaces the file (new inode/mtime), so
    a changed atlas is never served from the cache."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        stat = self.path.stat()
        self._version = (str(self.path), stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def layer(self, name: str, edition: int | None = None) -> pd.DataFrame:
        return _cached_layer(self._version, name, edition).copy()

    def editions(self):
        return _cached_editions(self._version)


@lru_cache(maxsize=128)
def _cached_layer(version: tuple, name: str, edition: int | None) -> pd.DataFrame:
    return Atlas(version[0]).layer(name, edition)


@lru_cache(maxsize=16)
def _cached_editions(version: tuple):
    return Atlas(version[0]).editions()


def _light_at(folder: Path, lat: float, lon: float) -> dict | None:
    """Illumination fraction and suitability at a point, from the rasters the main job wrote
    (the same files the tiles come from)."""
    import rasterio
    from pyproj import CRS

    from lunatlas.crs import lonlat_to
    from lunatlas.web.tiles import RASTERS

    values = {}
    for key, raster in (("illumination_fraction", "illumination"),
                        ("suitability", "suitability")):
        path = folder / RASTERS[raster][0]
        if not path.is_file():
            continue
        with rasterio.open(path) as src:
            x, y = lonlat_to(CRS.from_user_input(src.crs), lon, lat)
            row, col = src.index(float(x), float(y))
            if 0 <= row < src.height and 0 <= col < src.width:
                value = float(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])
                values[key] = value if math.isfinite(value) else None
    return values or None


class SiteAssessment(BaseModel):
    """An institution's assessment of a candidate site (stored as an atlas ``sites`` record
    owned by that institution: ``assessment:<institution>:<name>``)."""

    model_config = {"extra": "forbid"}
    institution: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=360)
    score: float = Field(ge=0, le=1)
    notes: str = Field(default="", max_length=5000)


class SubmissionResult(BaseModel):
    id: int
    status: str = "pending"


class Decision(BaseModel):
    id: int
    status: str
    edition: int | None = None


def create_app(atlas_path: str | Path, service_path: str | Path | None = None) -> FastAPI:
    """The service for one atlas (the service database defaults to ``<atlas>.service.sqlite``)."""
    atlas_path = Path(atlas_path)
    Atlas(atlas_path)  # fail fast on a missing or foreign file
    store = ServiceStore(service_path or atlas_path.with_suffix(".service.sqlite"))
    app = FastAPI(title="Lunatlas", version="1", docs_url=None, redoc_url=None,
                  description="Shared lunar atlas: editions, layers, point queries, sites, "
                              "chronologies, diffs and curated sample contributions.")
    write_lock = threading.Lock()
    recent: dict[str, deque] = defaultdict(deque)

    app.add_middleware(BodyGuard, limit=MAX_BODY_BYTES, authenticate=store.authenticate)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and \
                request.url.path.startswith("/api/contributions"):
            # every write attempt is audited, refused ones too, with the outcome
            who = getattr(request.state, "principal", None)  # set by BodyGuard
            outcome = "done" if response.status_code < 400 else "refused"
            store.audit(who or Principal("anonymous", "none"), f"write-{outcome}",
                        f"{request.method} {request.url.path} → {response.status_code}")
        # Swagger UI's page boots from an inline script; everything else is same-origin only.
        script = "'self' 'unsafe-inline'" if request.url.path == "/docs" else "'self'"
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    def atlas() -> Atlas:
        return _CachedAtlas(atlas_path)

    def edition_or_404(store_: Atlas, edition: int | None) -> int:
        latest = store_.latest
        if edition is not None and not 1 <= edition <= latest:
            raise HTTPException(404, f"edition {edition} does not exist (1..{latest})")
        return edition or latest

    def principal(request: Request,
                  authorization: Annotated[str | None, Header()] = None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        token = authorization[len("Bearer "):].strip()
        who = getattr(request.state, "principal", None) or store.authenticate(token)
        if who is None:
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        if request.method == "GET":
            return who  # reads are not rate-limited
        # per token, not per institution: one busy token does not throttle its colleagues
        bucket = recent[hashlib.sha256(token.encode()).hexdigest()]
        now = time.monotonic()
        while bucket and now - bucket[0] > 60:
            bucket.popleft()
        if len(bucket) >= WRITES_PER_MINUTE:
            raise HTTPException(429, "too many write requests; retry in a minute")
        bucket.append(now)
        return who

    Auth = Annotated[Principal, Depends(principal)]

    @app.get("/api/editions")
    def editions() -> list[dict]:
        """All editions (number, created, reason, parent, command)."""
        return [e.__dict__ for e in atlas().editions()]

    @app.get("/api/layers")
    def layers() -> list[dict]:
        """Layer names, geometry types and descriptions."""
        return [{"name": s.name, "geometry_type": s.geometry_type, "description": s.description}
                for s in LAYERS.values()]

    @app.get("/api/layers/{name}")
    def layer(name: str, edition: Annotated[int | None, Query(ge=1)] = None,
              bbox: Annotated[str | None, Query(max_length=100,
                                                description="min_lon,min_lat,max_lon,max_lat")]
              = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 500,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        """A layer as GeoJSON (lon/lat on the IAU 2015 Moon sphere), paged and bbox-filtered."""
        if name not in LAYERS:
            raise HTTPException(404, f"unknown layer; layers: {', '.join(LAYERS)}")
        store_ = atlas()
        frame = store_.layer(name, edition_or_404(store_, edition))
        if bbox is not None:
            try:
                lo_lon, lo_lat, hi_lon, hi_lat = (float(v) for v in bbox.split(","))
            except ValueError:
                raise HTTPException(422, "bbox must be four numbers: "
                                         "min_lon,min_lat,max_lon,max_lat") from None
            if not (-180 <= lo_lon < hi_lon <= 180 and -90 <= lo_lat < hi_lat <= 90):
                raise HTTPException(422, "bbox out of range: lon in [-180, 180], lat in "
                                         "[-90, 90], min < max")
            if LAYERS[name].geometry_type is None:
                raise HTTPException(422, f"layer {name} has no geometry to filter by bbox")
            frame = frame[frame.intersects(shapely.box(lo_lon, lo_lat, hi_lon, hi_lat))]
        page = frame.iloc[offset:offset + limit]
        return {"type": "FeatureCollection", "features": _features(page),
                "total": len(frame), "offset": offset, "limit": limit,
                "crs": "IAU_2015:30100"}

    @app.get("/api/query")
    def query(lat: Annotated[float, Query(ge=-90, le=90)],
              lon: Annotated[float, Query(ge=-180, le=360)],
              edition: Annotated[int | None, Query(ge=1)] = None) -> dict:
        """What the atlas says at a point: the geologic unit (symbol, name, epoch and its age
        range, description, crater model age, sample ages, source), the crater-count area,
        the nearest samples and site, and the light there."""
        store_ = atlas()
        n = edition_or_404(store_, edition)
        lon = float(normalize_longitude(lon))  # as the CLI: 0..360 accepted, normalised
        point = shapely.Point(lon, lat)
        units = store_.layer("units", n)
        inside = units[units.intersects(point)]
        areas = store_.layer("count_areas", n)
        in_area = areas[areas.intersects(point)]
        samples = store_.layer("samples", n)
        unit = None
        if len(inside):
            feature = _features(inside.iloc[:1])[0]
            unit = feature["properties"] | {"record_id": feature["id"]}
            unit["sample_ages"] = json.loads(unit.pop("sample_ages_json", None) or "[]")
        result = {"lat": lat, "lon": lon, "edition": n, "unit": unit,
                  "count_area": (_features(in_area.iloc[:1])[0]["properties"]
                                 | {"record_id": in_area.index[0]}) if len(in_area) else None,
                  "chronology": _features(store_.layer("chronologies", n))}
        if len(samples):
            d = great_circle_distance_m(lon, lat, samples.geometry.x, samples.geometry.y)
            nearest = samples.assign(distance_km=d / 1000).nsmallest(3, "distance_km")
            result["nearest_samples"] = [f["properties"] | {"record_id": f["id"]}
                                         for f in _features(nearest)]
        result["light"] = _light_at(atlas_path.parent, lat, lon)
        sites = store_.layer("sites", n)
        if len(sites):
            pts = sites.geometry.representative_point()
            d = great_circle_distance_m(lon, lat, pts.x, pts.y)
            best = sites.assign(distance_km=d / 1000).nsmallest(1, "distance_km")
            site = _features(best)[0]["properties"]
            site["scores"] = json.loads(site.pop("scores_json") or "{}")
            result["nearest_site"] = site
        return result

    @app.get("/api/units/legend")
    def units_legend(view: Annotated[str, Query(pattern="^(south-polar|global)$")] = "global",
                     edition: Annotated[int | None, Query(ge=1)] = None) -> list[dict]:
        """Geologic units in a view (south-polar: south of 75°S): symbol, name, epoch, its
        age range (Ga), official colour and polygon count, oldest epoch last."""
        from lunatlas.geology.units import EPOCH_ORDER, unit_table

        store_ = atlas()
        units = store_.layer("units", edition_or_404(store_, edition))
        if view == "south-polar":
            units = units.cx[:, -90:-75]
        table = unit_table()
        counts = units.groupby("symbol").size() if len(units) else pd.Series(dtype=int)
        rows = [{"symbol": s, "name": table.loc[s, "name"], "epoch": table.loc[s, "epoch"],
                 "epoch_young_ga": float(table.loc[s, "epoch_young_ga"]),
                 "epoch_old_ga": float(table.loc[s, "epoch_old_ga"]),
                 "colour": table.loc[s, "colour"], "polygons": int(n)}
                for s, n in counts.items() if s in table.index]
        return sorted(rows, key=lambda r: (EPOCH_ORDER.index(table.loc[r["symbol"],
                                                                      "epoch_code"]),
                                           r["symbol"]))

    @app.get("/api/sites")
    def sites(edition: Annotated[int | None, Query(ge=1)] = None) -> list[dict]:
        """Ranked candidate sites with per-criterion values and scores."""
        store_ = atlas()
        frame = store_.layer("sites", edition_or_404(store_, edition))
        out = []
        for f in _features(frame.sort_values("rank")):
            props = f["properties"]
            props["scores"] = json.loads(props.pop("scores_json") or "{}")
            out.append(props | {"record_id": f["id"], "geometry": f["geometry"]})
        return out

    @app.get("/api/chronologies")
    def chronologies() -> dict:
        """Published chronology systems and the atlas's fitted chronology."""
        from lunatlas.chronology import SYSTEMS

        return {"published": [{"key": s.key, "name": s.name, "a": s.cf.a, "b": s.cf.b,
                               "c": s.cf.c, "reference": s.cf.reference}
                              for s in SYSTEMS.values()],
                "atlas": [f["properties"] for f in _features(atlas().layer("chronologies"))]}

    @app.get("/api/diff")
    def diff(a: Annotated[int, Query(ge=1)], b: Annotated[int, Query(ge=1)]) -> list[dict]:
        """Records added, removed and changed between editions a and b."""
        store_ = atlas()
        edition_or_404(store_, a)
        edition_or_404(store_, b)
        return [{"layer": d.layer, "added": d.added, "removed": d.removed,
                 "changed": [{"record_id": c.record_id,
                              "fields": [{"field": f.field, "old": _clean(f.old),
                                          "new": _clean(f.new)} for f in c.fields]}
                             for c in d.changed]} for d in store_.diff(a, b)]

    @app.post("/api/contributions/analyses", status_code=201)
    def submit(analyses: Annotated[list[dict], Field(min_length=1, max_length=500)],
               who: Auth) -> SubmissionResult:
        """Submit sample analyses (schema of ``lunatlas.samples.analyses``) for curation."""
        if who.role not in ("contributor", "curator"):
            raise HTTPException(403, "this token may not submit")
        errors = []
        for i, row in enumerate(analyses, 1):
            try:
                analysis = Analysis.model_validate(row)
            except ValidationError as exc:
                errors += [f"row {i}, field {'.'.join(map(str, e['loc']))}: {e['msg']}"
                           for e in exc.errors()]
                continue
            if analysis.institution != who.institution:
                errors.append(f"row {i}, field institution: must be {who.institution!r}")
        if errors:
            raise HTTPException(422, errors)
        return SubmissionResult(id=store.submit(who, "analyses", analyses))

    @app.post("/api/contributions/sites", status_code=201)
    def submit_sites(assessments: Annotated[list[SiteAssessment],
                                            Field(min_length=1, max_length=200)],
                     who: Auth) -> SubmissionResult:
        """Submit site assessments (name, lat, lon, score 0–1, notes) for curation."""
        if who.role not in ("contributor", "curator"):
            raise HTTPException(403, "this token may not submit")
        wrong = [i for i, a in enumerate(assessments, 1) if a.institution != who.institution]
        if wrong:
            raise HTTPException(422, [f"row {i}, field institution: must be "
                                      f"{who.institution!r}" for i in wrong])
        return SubmissionResult(id=store.submit(who, "sites",
                                                [a.model_dump() for a in assessments]))

    @app.get("/api/contributions")
    def contributions(who: Auth) -> list[dict]:
        """This institution's submissions."""
        return store.submissions(who.institution)

    def _decide(sid: int, who: Principal, accept: bool) -> Decision:
        if who.role != "curator":
            raise HTTPException(403, "only curators accept or reject")
        sub = store.submission(sid)
        if sub is None or sub["institution"] != who.institution:
            raise HTTPException(404, "no such submission for this institution")
        if sub["status"] != "pending" or not store.claim(sid, who):
            current = (store.submission(sid) or {}).get("status", "decided")
            raise HTTPException(409, f"submission {sid} is already {current}")
        try:
            edition = None
            if accept and sub["kind"] == "sites":
                edition = _accept_sites(sid, sub, who)
            elif accept:
                from lunatlas.workflows import add_analyses

                with write_lock, tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / f"submission-{sid}.json"
                    path.write_text(sub["payload"])
                    try:
                        edition = add_analyses(atlas_path, path,
                                               f"accepted submission {sid} by "
                                               f"{who.institution}").edition
                    except LunatlasError as exc:
                        raise HTTPException(422, str(exc).replace(str(path),
                                                                  f"submission {sid}")) from None
        except BaseException:
            store.release(sid)  # the decision did not happen: the submission stays pending
            raise
        store.decide(sid, who, "accepted" if accept else "rejected", edition)
        return Decision(id=sid, status="accepted" if accept else "rejected", edition=edition)

    def _accept_sites(sid: int, sub: dict, who: Principal) -> int | None:
        import geopandas as gpd

        from lunatlas.atlas import edit
        from lunatlas.crs import MOON_GEOGRAPHIC

        rows = json.loads(sub["payload"])
        frame = gpd.GeoDataFrame(
            {"record_id": [f"assessment:{quote(r['institution'], safe='')}:"
                           f"{quote(r['name'], safe='')}" for r in rows],
             "name": [r["name"] for r in rows], "score": [r["score"] for r in rows],
             "scores_json": [json.dumps({"notes": r["notes"]}) for r in rows],
             "source": [f"{r['institution']} assessment (submission {sid})" for r in rows]},
            geometry=gpd.points_from_xy(normalize_longitude([r["lon"] for r in rows]),
                                        [r["lat"] for r in rows]),
            crs=MOON_GEOGRAPHIC)
        with write_lock, edit(atlas_path, f"accepted site assessments {sid} by "
                              f"{who.institution}") as change:
            change.upsert("sites", frame, f"submission {sid}")
        return change.edition

    @app.post("/api/contributions/{sid}/accept")
    def accept(sid: int, who: Auth) -> Decision:
        """Accept a pending submission: a new atlas edition (with re-dating)."""
        return _decide(sid, who, True)

    @app.post("/api/contributions/{sid}/reject")
    def reject(sid: int, who: Auth) -> Decision:
        """Reject a pending submission."""
        return _decide(sid, who, False)

    @app.get("/api/tiles/{name}/{z}/{x}/{y}.png")
    def tile(name: str, z: int, x: int, y: int) -> Response:
        """A 256-px PNG tile of a raster beside the atlas (south-polar tile matrix set)."""
        from lunatlas.web.tiles import RASTERS, render_tile, tile_bounds_ok

        if name not in RASTERS:
            raise HTTPException(404, f"unknown raster; rasters: {', '.join(RASTERS)}")
        if not tile_bounds_ok(name, z, x, y):
            raise HTTPException(422, "tile index out of range for this tile matrix set")
        if not (atlas_path.parent / RASTERS[name][0]).is_file():
            raise HTTPException(404, f"raster {name} has not been computed for this atlas "
                                     "(run `lunatlas site`)")
        png = render_tile(atlas_path.parent, name, z, x, y)
        if png is None:
            return Response(status_code=204)
        return Response(png, media_type="image/png")

    @app.get("/api/tms")
    def tms(view: Annotated[str, Query(pattern="^(south-polar|global)$")] = "south-polar"
            ) -> dict:
        """Tile matrix set of a view (south-polar or global) and its available rasters."""
        from lunatlas.web.tiles import RASTERS, VIEWS, data_extent, view_config

        rasters = [n for n in VIEWS[view] if (atlas_path.parent / RASTERS[n][0]).is_file()]
        return view_config(view) | {
            "view": view, "rasters": rasters,
            "data_extent": data_extent(atlas_path.parent, rasters)}

    static = Path(__file__).parent / "static"
    vendor = static / "node_modules"
    if vendor.is_dir():
        app.mount("/vendor", StaticFiles(directory=vendor), name="vendor")

    @app.get("/", include_in_schema=False)
    def viewer() -> Response:
        if not vendor.is_dir():
            return Response("viewer assets are not installed: run `npm ci --prefix "
                            "src/lunatlas/web/static` in the lunatlas checkout",
                            status_code=503, media_type="text/plain")
        return FileResponse(static / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        """Swagger UI from the locally installed swagger-ui-dist (no CDN: works offline)."""
        from fastapi.openapi.docs import get_swagger_ui_html

        swagger = vendor / "swagger-ui-dist"
        if not swagger.is_dir():
            return Response("API docs assets are not installed: run `npm ci --prefix "
                            "src/lunatlas/web/static` in the lunatlas checkout; the schema is "
                            "at /openapi.json", status_code=503, media_type="text/plain")
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="Lunatlas API",
            swagger_js_url="/vendor/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui-dist/favicon-32x32.png")

    @app.get("/viewer.js", include_in_schema=False)
    def viewer_js() -> Response:
        return FileResponse(static / "viewer.js", media_type="text/javascript")

    @app.get("/api/audit")
    def audit(who: Auth) -> list[dict]:
        """The append-only audit log (curators)."""
        if who.role != "curator":
            raise HTTPException(403, "only curators read the audit log")
        return store.audit_log(who.institution)  # their own institution's rows only

    app.state.store = store
    return app
