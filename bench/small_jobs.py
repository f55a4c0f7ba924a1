"""Wall time of the small jobs a new user starts with (issue 16, point 6): `nianbao extract`
of one document into a fresh folder, the same again with nothing to do, and the five seeds
likewise; each against an earlier commit too, and where the time of one document goes.

    .venv/bin/python bench/small_jobs.py [--repeat 5] [--before 07c179f] [--server]

Every job runs as its own `python -m flows.cli` process, as a user runs it, with one Prefect
home throughout (a warm-up run first, so a fresh home's database migrations are not
counted). Rounds interleave the two versions (this machine's speed drifts, and other work
shares its two cores); a job's time is its median run, every run listed beside it. With
--server, the one-document jobs run once more against a running `prefect server start`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "eval" / "seeds"


def _nianbao(code: Path, args: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=code, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nianbao {' '.join(args)} exited {done.returncode}:\n{done.stdout}")
    return took


def _checkout(commit: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _jobs(work: Path) -> dict[str, tuple[Path, bool]]:
    """name → (input folder, whether the output folder is fresh)"""
    one = work / "one"
    one.mkdir(exist_ok=True)
    shutil.copy(sorted(SEEDS.iterdir())[0], one)
    return {"one document, fresh output folder": (one, True),
            "one document, nothing to do": (one, False),
            "5 documents, fresh output folder": (SEEDS, True),
            "5 documents, nothing to do": (SEEDS, False)}


def measure(work: Path, versions: dict[str, Path], repeat: int, env: dict) -> dict:
    jobs = _jobs(work)
    for code in versions.values():
        _nianbao(code, ["extract", str(jobs["one document, fresh output folder"][0]), "--out",
                        str(work / "warm-up")], env)
    times = {(job, v): [] for job in jobs for v in versions}
    for i in range(repeat):
        for label, code in versions.items():
            for job, (inputs, fresh) in jobs.items():
                out = work / f"{label}-{i}-{'one' if inputs.name == 'one' else 'five'}"
                if fresh:
                    shutil.rmtree(out, ignore_errors=True)
                times[(job, label)].append(_nianbao(code, ["extract", str(inputs), "--out", str(out)], env))
    return times


def _seconds(code: str, env: dict, cwd: Path = REPO) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def where_it_goes(work: Path, env: dict, repeat: int) -> dict[str, float]:
    """The pieces of a one-document run, each in a fresh process (medians)."""
    server = ("from pathlib import Path; from flows.prefect_api import LocalApi, prepare_prefect_env; "
              "prepare_prefect_env(Path('.')); a = LocalApi(); a.wait(); a.stop()")
    pieces = {"python, and import flows.cli": "import flows.cli",
              "import what planning needs (flows.resume: flows.outputs, extractors.pipeline)": "import flows.resume",
              "import Prefect and the flow (flows.extract)": "import flows.extract",
              "the local API server, started to answering": server}
    found = {name: statistics.median(_seconds(code, env) for _ in range(repeat)) for name, code in pieces.items()}
    phases = []
    for i in range(repeat):
        out = work / f"phases-{i}"
        _nianbao(REPO, ["extract", str(work / "one"), "--out", str(out)], env)
        phases.append(json.loads((out / "summary.json").read_text(encoding="utf-8"))["phase_seconds"])
    for phase in phases[0]:
        found[f"in the flow: {phase}"] = statistics.median(p[phase] for p in phases)
    return found


def _with_server(env: dict):
    """`prefect server start` on a free port, as a user would run one; its API's URL."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--no-services", "--no-ui"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(1200):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("prefect server start did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default="07c179f", help="the commit to compare with (before issue 16)")
    parser.add_argument("--server", action="store_true", help="also against a running Prefect server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-small-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
        env.pop("PREFECT_API_URL", None)
        versions = {"before": _checkout(args.before, work / "before"), "now": REPO}
        times = measure(work, versions, args.repeat, env)
        print(f"| job | before ({args.before}) | now |")
        print("| --- | --- | --- |")
        for job in _jobs(work):
            cells = [f"{statistics.median(times[(job, v)]):.2f} s ({', '.join(f'{t:.2f}' for t in times[(job, v)])})"
                     for v in versions]
            print(f"| {job} | {' | '.join(cells)} |")
        print("\n| where one document's time goes (now; each piece alone, in a fresh process) | median |")
        print("| --- | --- |")
        for name, took in where_it_goes(work, env, args.repeat).items():
            print(f"| {name} | {took:.2f} s |")
        if args.server:
            proc, url = _with_server(env)
            try:
                served = {**env, "PREFECT_API_URL": url}
                runs = []
                for i in range(args.repeat):
                    out = work / f"served-{i}"
                    runs.append(_nianbao(REPO, ["extract", str(work / "one"), "--out", str(out)], served))
                print(f"\none document, fresh output folder, against a running `prefect server start`: "
                      f"{statistics.median(runs):.2f} s ({', '.join(f'{t:.2f}' for t in runs)})")
            finally:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()
