"""The console entry point, kept free of heavy imports so that a Ctrl-C or SIGTERM while the
command line and its libraries load (about a second) still ends with the contract's one line and
exit code (130 or 143)."""

import sys


def main() -> None:
    from formcheck.runs import stop_signals

    stop_signals.install()
    try:
        from formcheck.cli import main as run
    except KeyboardInterrupt as exc:
        _stopped(isinstance(exc, stop_signals.Terminated))
    except ImportError:
        if not stop_signals.stopped():
            raise
        _stopped(stop_signals.terminated())  # a library's initialisation was interrupted
    run()


def _stopped(terminated: bool) -> None:
    from formcheck.runs import stop_signals

    sys.stderr.write(f"formcheck: {'terminated' if terminated else 'interrupted'} before anything was measured\n")
    stop_signals.exit_before_measuring(stop_signals.EXIT_TERMINATED if terminated else 130)
