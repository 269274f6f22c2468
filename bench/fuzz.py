"""Coverage-guided fuzzing (atheris, libFuzzer) of the three doors hostile bytes come through: image
decoding (`images.load_image`), zip ingestion (`image_folders.load_image_folder_zip`) and model-config
checking (`model_files.check_model_file`, everything `load_model_file` does before Keras sees the file).

Each target runs in its own process, starting from the hostile corpus the tests make, until it has
run `--runs` inputs or `--seconds` passed. A crash is any exception other than InvalidInput, an input
that takes over 2 s (libFuzzer's -timeout), or memory over 512 MB (-rss_limit_mb). Findings are kept
under bench/fuzz-findings/<target>/.

Run: python bench/fuzz.py [--runs 100000] [--seconds 600] [--target image|zip|model]
(prints a table, then RESULT lines)
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("image", "zip", "model")
FINDINGS = ROOT / "bench" / "fuzz-findings"
MAX_LEN = 64 * 1024  # bytes per input: enough for every structure the loaders parse


def child(target: str, libfuzzer_args: list[str]) -> None:
    """Runs inside the fuzzing process: instrument cnnviz's loaders, then hand over to libFuzzer."""
    import atheris

    with atheris.instrument_imports():
        from cnnviz import image_folders, images, model_files
        from cnnviz.errors import InvalidInput

    function = {
        "image": images.load_image,
        "zip": lambda data: image_folders.load_image_folder_zip(data, image_size=16),
        "model": model_files.check_model_file,
    }[target]

    def one_input(data: bytes) -> None:
        with contextlib.suppress(InvalidInput):  # refused with a message: what should happen
            function(data)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def run_target(target: str, runs: int, seconds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from harness.hostile_corpus import corpus

    findings = FINDINGS / target
    findings.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"cnnviz-fuzz-{target}-") as seeds:
        for index, (_, data) in enumerate(corpus()[target]):
            (Path(seeds) / f"seed-{index:03d}").write_bytes(data[:MAX_LEN])
        command = [
            sys.executable,
            __file__,
            "--child",
            target,
            seeds,
            f"-runs={runs}",
            f"-max_total_time={seconds}",
            "-timeout=2",
            "-rss_limit_mb=512",
            f"-max_len={MAX_LEN}",
            "-print_final_stats=1",
            f"-artifact_prefix={findings}/",
        ]
        before = set(findings.iterdir())
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    output = result.stdout + result.stderr

    def stat(name: str) -> float:
        match = re.search(rf"stat::{name}:\s+(\d+)", output)
        return float(match.group(1)) if match else float("nan")

    found = sorted(set(findings.iterdir()) - before)
    crashed = result.returncode != 0 or bool(found)
    if crashed:
        print(output[-4000:], file=sys.stderr)
    execs = stat("number_of_executed_units")
    return {
        "target": target,
        "execs": int(execs) if execs == execs else 0,  # NaN when libFuzzer printed no stats
        "exec_per_s": stat("average_exec_per_sec"),
        "slowest_s": stat("slowest_unit_time_sec"),
        "peak_rss_mb": stat("peak_rss_mb"),
        "new_units": stat("new_units_added"),
        "crashes": max(len(found), int(crashed)),
        "seconds": elapsed,
        "findings": [str(path) for path in found],
    }


def main() -> None:
    from common import table  # not in the fuzzing child: what it imports must be imported instrumented

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000, help="inputs per target (default 100,000)")
    parser.add_argument("--seconds", type=int, default=600, help="time limit per target (default 600)")
    parser.add_argument("--target", choices=TARGETS, action="append", help="fuzz only this target (repeatable)")
    args = parser.parse_args()
    results = [run_target(target, args.runs, args.seconds) for target in args.target or TARGETS]
    headers = ["target", "execs", "exec/s", "slowest s", "peak RSS MB", "new units", "crashes", "wall s"]
    rows = [
        [
            r["target"],
            r["execs"],
            r["exec_per_s"],
            r["slowest_s"],
            r["peak_rss_mb"],
            r["new_units"],
            r["crashes"],
            r["seconds"],
        ]
        for r in results
    ]
    print(table(headers, rows))
    for r in results:
        for path in r["findings"]:
            print(f"finding ({r['target']}): {path}")
    print()
    print(f"RESULT fuzz_execs_min {min(r['execs'] for r in results)}")
    print(f"RESULT fuzz_crashes {sum(r['crashes'] for r in results)}")
    print(f"RESULT fuzz_peak_rss_mb {max(r['peak_rss_mb'] for r in results):.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
