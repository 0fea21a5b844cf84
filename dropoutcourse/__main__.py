"""Command line: ``python -m dropoutcourse reproduce|figures|claims`` (argument parsing only).

``reproduce`` runs the paper experiments of :mod:`dropoutcourse.experiments` (comparison,
rate sweep with n and p·n fixed, data-size sweep, MC vs weight scaling, regularizer table),
and writes into ``--out`` one PNG per experiment, the tidy results as CSV, and
``results.md``: mean ± std tables over the seeds and a one-line reading per experiment that is
computed from the numbers. Default settings take a few minutes on 2 CPU cores; ``--full``
uses larger, more paper-like settings (much slower).

``figures`` draws the pictures that need no training (network diagrams, dropout masks,
under/over-fitting) for the slides.

``claims`` runs every claim of the course (:mod:`dropoutcourse.claims`) on one or more seed
sets, prints a table claim × seed set → holds / fails with the numbers and each claim's
smallest margin in standard errors, and exits with status 1 if any claim fails (with
``--without-dropout``, the negative control: if any claim still holds). The work is done in :mod:`dropoutcourse.report` and
:mod:`dropoutcourse.claims.table`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from dropoutcourse.report import QUICK  # the experiments --only accepts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dropoutcourse",
        description="Reproduce the dropout paper's experiments in miniature, or draw the course figures.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{reproduce,figures,claims}")
    rep = sub.add_parser(
        "reproduce",
        help="run the experiments; write figures, CSVs and results.md",
        description="Run compare, rate sweep (n and pn fixed), data-size sweep, MC vs weight "
        "scaling and the regularizer table; write PNGs, CSVs and results.md into --out.",
    )
    rep.add_argument("--out", default="results", help="output folder (default: results/)")
    rep.add_argument("--full", action="store_true", help="larger, paper-like settings (slow)")
    rep.add_argument("--seeds", type=int, default=5, help="number of seeds per setting (default 5)")
    rep.add_argument(
        "--only",
        nargs="+",
        choices=list(QUICK),
        default=None,
        help="run only these experiments",
    )
    rep.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    fig = sub.add_parser("figures", help="draw the figures that need no training (for slides)")
    fig.add_argument("--out", default="figures", help="output folder (default: figures/)")
    cl = sub.add_parser(
        "claims",
        help="check every claim of the course on one or more seed sets",
        description="Run each claim (experiment + pre-declared decision rule) on the seed "
        "sets given; print claim x seed set -> holds/fails with the numbers; exit 1 if any fails.",
    )
    cl.add_argument(
        "--seed-offset",
        type=int,
        nargs="+",
        default=[0],
        help="first seed of each seed set (default 0; e.g. --seed-offset 0 1000 2000)",
    )
    cl.add_argument("--only", nargs="+", default=None, help="run only these claims (names)")
    cl.add_argument("--out", default=None, help="also write the table as Markdown + JSON here")
    cl.add_argument(
        "--without-dropout",
        action="store_true",
        help="negative control: force every dropout rate to 0; exit 1 if any claim still holds",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m dropoutcourse`` and of the ``dropoutcourse`` console script."""
    args = _parser().parse_args(argv)
    # the CLI draws headless (TensorFlow is already silenced by the package's __init__); set
    # here, when the CLI runs, not when the module is imported
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.command == "reproduce":
        if args.seeds < 1:
            _parser().error("--seeds must be >= 1")
        n_seeds = min(args.seeds, 2) if args.quick else args.seeds
        from dropoutcourse.report import reproduce

        reproduce(args.out, full=args.full, n_seeds=n_seeds, quick=args.quick, only=args.only)
    elif args.command == "figures":
        from dropoutcourse.report import figures

        figures(args.out)
    elif args.command == "claims":
        from dropoutcourse.claims.table import check_all

        if any(o < 0 for o in args.seed_offset):
            _parser().error("--seed-offset must be >= 0")
        try:
            ok = check_all(
                args.seed_offset, only=args.only, out=args.out, without_dropout=args.without_dropout
            )
        except ValueError as err:  # overlapping seed sets
            _parser().error(str(err))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
