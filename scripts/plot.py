#!/usr/bin/env python3
"""./lab plot [run folder]: charts (PNG + SVG), report.md and report.html for one run.

Reads results.json (service run) and/or micro.json (micro-benchmark run) from the folder,
writes every chart beside them, then the report. Without a folder, plots the newest run
under results/.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts          # noqa: E402
import report          # noqa: E402
import results as res  # noqa: E402


def write_explorer(folder):
    """explore.html beside the report; a note, not a failure, when uPlot is not installed."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "explore"))
    import explore
    if not explore.UPLOT_JS.exists():
        print(f"explore: not written ({explore.UPLOT_JS} missing; ./lab explore installs it)")
        return
    explore.main([str(folder)])


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="./lab plot", description=__doc__.split("\n\n")[0],
        epilog="Charts: throughput, p99 latency, latency spectrum and CPU per request per "
               "closed-loop scenario; latency vs offered load, percentile spectrum at one rate "
               "and capacity at the SLO per open-loop scenario; for gateway scenarios, latency / "
               "downstream delay (slowest, not sum), memory per in-flight call and the tail "
               "at scale; peak RSS; RSS over time; "
               "startup; micro-benchmarks. See docs/charts.md.")
    parser.add_argument("run", nargs="?", help="run folder (default: newest under results/)")
    parser.add_argument("--published", metavar="FILE",
                        help="published micro-benchmark references "
                             "(default: micro/published.json)")
    parser.add_argument("--no-report", action="store_true", help="charts only")
    parser.add_argument("--explore", action="store_true",
                        help="also write explore.html (./lab explore) when its chart library "
                             "is installed (./lab run asks for it)")
    args = parser.parse_args(argv)
    try:
        folder = Path(args.run) if args.run else res.find_newest_run()
        run = res.Run(folder)
        published = charts.load_published(args.published) if (run.micro or args.published) else []
        drawn = charts.plot_run(run, published)
        for name, paths in drawn.items():
            print(f"{name}: {', '.join(str(p) for p in paths)}")
        if not args.no_report:
            for path in report.write_reports(run, drawn, published):
                print(f"report: {path}")
        if args.explore and run.service:
            write_explorer(run.folder)
    except res.ResultsError as e:
        print(f"plot: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
