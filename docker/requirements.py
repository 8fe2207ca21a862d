"""`python requirements.py PYPROJECT [EXTRA...]`: print the project's requirements, one a line, and
those of each extra named.

The images install their dependencies from this list before the code, so that a code change reuses
the (large) dependency layers, and pyproject.toml stays the one place a version is written.
"""
import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras) -> list[str]:
    """The dependencies plus each extra's, without the project's references to itself."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    found = list(project["dependencies"])
    for extra in extras:
        found += project["optional-dependencies"][extra]
    return [r for r in found if not r.startswith(project["name"] + "[")]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1], sys.argv[2:])))
