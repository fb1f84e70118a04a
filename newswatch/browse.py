"""The store in Datasette (`newswatch browse`): its metadata, with canned queries, named for the file."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import yaml


def datasette_metadata(store: Path) -> dict:
    """newswatch/datasette.yml with its database named as Datasette names ``store``: the file's stem."""
    metadata = yaml.safe_load(resources.files(__package__).joinpath("datasette.yml").read_text("utf-8"))
    metadata["databases"] = {store.stem: metadata["databases"]["newswatch"]}
    return metadata


def serve_datasette(store: Path, *, host: str, port: int) -> int:
    """Run Datasette over ``store`` (read only) until it stops; its exit code. RuntimeError when the
    optional extra is not installed."""
    if importlib.util.find_spec("datasette") is None:
        raise RuntimeError("Datasette is not installed: pip install 'newswatch[datasette]'")
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="newswatch-datasette-") as metadata:
        json.dump(datasette_metadata(store), metadata)
        metadata.flush()
        # Datasette opens a database it may not write to read-only: runs go on writing meanwhile.
        return subprocess.call([sys.executable, "-m", "datasette", "serve", str(store),
                                "--metadata", metadata.name, "--host", host, "--port", str(port)])
