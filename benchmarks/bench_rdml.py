"""Benchmark: peak memory and time of reading a large RDML file.

Not a test (figures are never asserted in the suite; tests/plates/test_readers.py checks that memory
stays flat on a small file). It writes an RDML export of a full 384-well plate, four dyes, with
an amplification curve on every <data> (as Bio-Rad and Roche exports carry), about 20 MB of XML,
then reads it with ``read_plate`` in a fresh process and prints the wall time and the peak
resident set (ru_maxrss) of that process, with the same for an empty run (interpreter, pandas
and esr1calls imported, nothing read) so the parser's own share shows. With melting curves
(Bio-Rad exports carry both) the default file is about 20 MB of XML:

    .venv/bin/python benchmarks/bench_rdml.py                  # ~20 MB of XML, zipped
    .venv/bin/python benchmarks/bench_rdml.py --cycles 20 --plain
    .venv/bin/python benchmarks/bench_rdml.py --compare /tmp/old  # another checkout's esr1calls

``--compare`` takes a directory holding another version's ``esr1calls`` package (for example
``git archive f79c3fc esr1calls | tar -x -C /tmp/old``) and runs the same read with it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DYES = ("FAM", "HEX", "ROX", "Cy5")
READ = """
import resource, sys, time
import esr1calls.plates
from esr1calls.plates import read_plate
start = time.perf_counter()
plate = read_plate(sys.argv[1], "rdml") if sys.argv[1] != "-" else None
took = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{took:.2f} {rss:.0f} {0 if plate is None else len(plate.wells)}")
"""


def write_rdml(path: Path, cycles: int, *, plain: bool, melt: int = 0) -> int:
    """A 384-well, four-dye RDML 1.2 run with ``cycles`` amplification points and ``melt``
    melting points per curve; returns the size of the XML."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rdml xmlns="http://www.rdml.org" version="1.2">',
        "<id><publisher>bench</publisher><serialNumber>1</serialNumber></id>",
        *(f'<dye id="{d}"/>' for d in DYES),
        '<sample id="S"><type>unkn</type></sample>',
        *(f'<target id="T{d}"><type>toi</type><dyeId id="{d}"/></target>' for d in DYES),
        '<experiment id="bench"><run id="Run 1"><pcrFormat><rows>16</rows><columns>24</columns>'
        "<rowLabel>ABC</rowLabel><columnLabel>123</columnLabel></pcrFormat>",
    ]
    for react in range(1, 385):
        parts.append(f'<react id="{react}"><sample id="S"/>')
        for n, dye in enumerate(DYES):
            curve = "".join(
                f"<adp><cyc>{c}</cyc><tmp>60.0</tmp><fluor>{1000 + (react + n) * c * 0.37:.4f}"
                "</fluor></adp>"
                for c in range(1, cycles + 1)
            ) + "".join(
                f"<mdp><tmp>{65 + t * 0.25:.2f}</tmp><fluor>{5000 - t * 11.3:.4f}</fluor></mdp>"
                for t in range(melt)
            )
            cq = 25 + (react % 10) / 3
            parts.append(f'<data><tar id="T{dye}"/><cq>{cq:.3f}</cq>{curve}</data>')
        parts.append("</react>")
    parts.append("</run></experiment></rdml>\n")
    xml = "".join(parts).encode("utf-8")  # one line, as Bio-Rad writes it
    if plain:
        path.write_bytes(xml)
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("rdml_data.xml", xml)
    return len(xml)


def measure(package_root: Path, path: str, folder: str) -> tuple[float, float, int]:
    """Seconds, peak RSS (MiB) and wells of one read in a fresh process using the esr1calls
    under ``package_root`` (run from ``folder``: "-c" puts the working directory first)."""
    environment = {**os.environ, "PYTHONPATH": str(package_root)}
    done = subprocess.run(
        [sys.executable, "-c", READ, path], capture_output=True, text=True, env=environment,
        check=True, cwd=folder,
    )  # fmt: skip
    took, rss, wells = done.stdout.split()
    return float(took), float(rss), int(wells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=45, help="amplification points (45)")
    parser.add_argument("--melt", type=int, default=200, help="melting points per curve (200)")
    parser.add_argument("--plain", action="store_true", help="uncompressed XML, not a zip")
    parser.add_argument("--compare", type=Path, help="a directory holding another esr1calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("bench.xml" if args.plain else "bench.rdml")
        size = write_rdml(path, args.cycles, plain=args.plain, melt=args.melt)
        print(f"RDML: {size / 2**20:.1f} MiB of XML ({path.stat().st_size / 2**20:.1f} MiB file), "
              f"384 wells x 4 dyes, {args.cycles} amplification and {args.melt} melting points "
              "per curve")  # fmt: skip
        print(f"{'esr1calls':<34} {'read (s)':>9} {'peak RSS (MiB)':>15} {'of it, reading':>15}")
        for label, root in [("this checkout", REPO), ("--compare", args.compare)]:
            if root is None:
                continue
            _, idle, _ = measure(root, "-", folder)
            took, rss, wells = measure(root, str(path), folder)
            assert wells == 384 * 4, wells
            name = f"{label} ({root})"
            print(f"{name:<34} {took:>9.2f} {rss:>15.0f} {rss - idle:>15.0f}")


if __name__ == "__main__":
    main()
