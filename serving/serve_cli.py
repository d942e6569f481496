"""``xscreen serve [--host 127.0.0.1] [--port 8000]``: the API and the operator viewer."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--model", help="model bundle to serve (default: the registry's active "
                                        "version, else the packaged default; or XSCREEN_MODEL)")
    parser.add_argument("--risk-config", dest="risk_config",
                        help="risk YAML (default: the packaged serving/risk.yaml; or "
                             "XSCREEN_RISK_CONFIG); checked at start-up")
    parser.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")
    parser.add_argument("--threads", type=int,
                        help="ONNX Runtime threads in all (default: every core)")
    parser.add_argument("--inference-workers", type=int, dest="inference_workers",
                        help="batches run side by side, sharing the threads (default 2 where "
                             "there are >= 2 threads)")
    parser.add_argument("--max-batch", type=int, help="micro-batch size limit (default 8)")
    parser.add_argument("--max-wait-ms", type=float, help="micro-batch wait (default 2 ms)")


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas: with dozens of request threads decoding large scans,
    the default (8 per core) keeps hundreds of MB of freed memory resident."""
    import contextlib
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
            ctypes.CDLL(name).mallopt(-8, arenas)   # M_ARENA_MAX


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from xscreen.errors import UsageError
    from xscreen.serving.app import create_app
    from xscreen.serving.settings import load_settings

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    settings = load_settings(home=args.home, model=args.model, risk_config=args.risk_config,
                             ort_threads=args.threads,
                             max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                             inference_workers=args.inference_workers)
    limit_malloc_arenas()
    app = create_app(settings)
    shown = "localhost" if args.host in ("0.0.0.0", "::") else args.host
    print(f"xscreen: serving on http://{shown}:{args.port}/ (operator viewer), API docs at "
          f"http://{shown}:{args.port}/docs; state in {settings.home.resolve()}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=30)
    return 0
