#!/usr/bin/env python3
"""Mutation testing of the rule modules (docs/development.md, "Mutation testing").

    scripts/mutate.py                       every mutant of the scope (make mutation; long)
    scripts/mutate.py --sample 120          a seeded sample (make mutation-sample)
    scripts/mutate.py --module "ngs rule"   one module; --function 'call_*' narrows further
    scripts/mutate.py --list                the mutants and their ids, without running them
    scripts/mutate.py --id 1a2b3c4d5e ...   only these mutants (to check that a new test kills one)

The scope (scripts/mutation_scope.toml) names each module's functions and the tests that exercise
them; reviewed equivalent mutants are in scripts/mutation_equivalents.toml, one reason each.
MUTATION_JOBS sets how many mutants run at once (default 1). The report goes to
test-artifacts/mutation/ (report.txt and report.json); the exit code is 1 if a module scores
below --fail-under.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import signal
import sys
import time
from pathlib import Path

from esr1calls.testing import REPO
from esr1calls.testing.mutation import (
    Outcome,
    ScopeError,
    enumerate_mutants,
    load_equivalents,
    load_scope,
    run_mutants,
    sample,
    score,
    write_report,
)

SCOPE = REPO / "scripts" / "mutation_scope.toml"
EQUIVALENTS = REPO / "scripts" / "mutation_equivalents.toml"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, metavar="N", help="run a seeded sample of N mutants")
    parser.add_argument("--seed", type=int, help="the sample's seed (default: the scope's)")
    parser.add_argument("--module", action="append", default=[], help="only this module")
    parser.add_argument("--function", action="append", default=[], help="only these functions")
    parser.add_argument("--id", action="append", default=[], help="only these mutant ids")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--report-dir", type=Path, default=REPO / "test-artifacts" / "mutation")
    parser.add_argument("--fail-under", type=float, default=0.0, help="minimum score, percent")
    args = parser.parse_args(argv)
    try:
        jobs = int(os.environ.get("MUTATION_JOBS", "1"))
        scope = load_scope(SCOPE, REPO)
        equivalents = load_equivalents(EQUIVALENTS)
        everything = enumerate_mutants(scope, args.module)
    except (ScopeError, ValueError) as error:
        print(f"mutate: error: {error}", file=sys.stderr)
        return 1
    mutants = everything
    if args.function:
        wanted = args.function
        mutants = [m for m in mutants if any(fnmatch.fnmatchcase(m.function, f) for f in wanted)]
    if args.id:
        mutants = [m for m in mutants if m.id in set(args.id)]
    if args.sample:
        seed = scope.seed if args.seed is None else args.seed
        mutants = sample(mutants, args.sample, seed)
    if args.list:
        for m in mutants:
            mark = "  [equivalent]" if m.id in equivalents else ""
            print(
                f"{m.id}  {m.module}  {m.path}:{m.line}  {m.function}  {m.operator}  "
                f"{m.description}{mark}"
            )
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return 0
    known = {m.id for m in everything}
    stale = [e for e in equivalents.values() if e.id not in known] if not args.module else []

    def progress(outcome: Outcome, done: int, total: int) -> None:
        m = outcome.mutant
        if outcome.status != "killed":
            print(
                f"[{done}/{total}] {outcome.status}: {m.path}:{m.line} {m.function} "
                f"{m.description} id={m.id}",
                file=sys.stderr,
                flush=True,
            )
        elif done % 20 == 0:
            print(f"[{done}/{total}] ...", file=sys.stderr, flush=True)

    began = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcomes, baseline = run_mutants(scope, mutants, equivalents, jobs, progress)
    except ScopeError as error:
        print(f"mutate: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mutate: interrupted; no report written", file=sys.stderr)
        return 130
    title = f"mutation testing: {len(mutants)} mutants" + (
        f" (seeded sample, seed {args.seed or scope.seed})" if args.sample else ""
    )
    text = write_report(outcomes, baseline, stale, args.report_dir, title, time.monotonic() - began)
    print(text, end="")
    low = [s for s in score(outcomes) if s.score is not None and s.score < args.fail_under]
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
