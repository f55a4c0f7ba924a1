"""python -m extractors.synth --out DIR --n N --seed S [--formats txt,html,docx,pdf]
[--templates 2019,2021] [--error-rate 0.3]: writes DIR/<name>.<ext> and DIR/gold/<name>.json."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from extractors.standard_model import TEMPLATES
from extractors.synth import FORMATS, generate


def _choices(text: str, allowed: tuple[str, ...]) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = set(items) - set(allowed)
    if bad or not items:
        raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)}")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m extractors.synth", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", type=lambda s: _choices(s, FORMATS), default=list(FORMATS))
    parser.add_argument("--templates", type=lambda s: _choices(s, TEMPLATES), default=list(TEMPLATES))
    parser.add_argument("--error-rate", type=float, default=0.0,
                        help="share of reports with injected source errors")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        pick = random.Random(f"{args.seed}:{i}")
        template = pick.choice(args.templates)
        fmt = args.formats[i % len(args.formats)]
        doc_seed = pick.randrange(2**32)
        doc = generate(doc_seed, template, fmt, errors=pick.random() < args.error_rate,
                       name=f"{i:04d}_{template}_{doc_seed:08x}.{fmt}")
        doc.write(args.out)
        rules = ",".join(e["rule"] for e in doc.gold["source_errors"]) or "-"
        print(f"{doc.name}\terrors: {rules}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
