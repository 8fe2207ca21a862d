"""clients/python builds a wheel of fitq_client alone, which imports and works with the standard library
only (no site-packages at all: no torch, numpy, requests or fitq's server)."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_the_client_wheel_stands_alone(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(REPO / "clients" / "python")],
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("fitq_client-*.whl")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import fitq_client\n"
              "from fitq_client import Client, FitqError\n"
              "try:\n    Client('http://127.0.0.1:1').job('x')\nexcept FitqError as err:\n    print(err)\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'numpy', 'service', 'fits'}))\n")
    # -S: no site-packages, so any import beyond the standard library fails; -I: no PYTHONPATH, no cwd.
    ran = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(wheel)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["cannot reach fitq at http://127.0.0.1:1: Connection refused", "[]"]
