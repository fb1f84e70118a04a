"""The house rules that keep the packages easy to change: imports point down the layers, Prefect stays
in the flows (and the CLI that calls them), apprise in the alerts package."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom: a package may import those below it, never one above.
LAYERS = ["newswatch", "flows", "pipeline", "reports", "alerts", "sources", "storage", "extractors", "detectors", "seeds"]


def imported_packages(package: str) -> dict[str, set[str]]:
    """{top-level package imported: the files of ``package`` that import it}, imports inside functions included."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_down_the_layers(package):
    above = LAYERS[:LAYERS.index(package)]
    upward = {name: files for name, files in imported_packages(package).items() if name in above}
    assert upward == {}, f"{package} imports packages above it: {upward}"


@pytest.mark.parametrize("package", LAYERS[2:])
def test_only_the_flows_and_the_cli_import_prefect(package):
    # The extraction processes import the pipeline: Prefect there would triple their memory.
    assert "prefect" not in imported_packages(package)


@pytest.mark.parametrize("package", [p for p in LAYERS if p != "alerts"])
def test_only_the_alerts_package_imports_apprise(package):
    assert "apprise" not in imported_packages(package)


def test_a_package_that_imports_prefect_is_caught():
    """The check above can fail: the flows do import Prefect."""
    assert "prefect" in imported_packages("flows")
