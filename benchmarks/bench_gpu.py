"""A bundle's GPU throughput at batch 1 to 64, beside ONNX Runtime on the same machine's CPU.

Goal (issue 3): at least 1000 images per second at 640x640 on one H100-class GPU. Each engine
runs the whole bundle graph (backbone, heads, decoding, top-k and batched NMS), input
``[B, 3, S, S]`` float32 RGB 0-1:

- ``ort-cuda`` / ``ort-tensorrt``: the bundle's ``model.onnx`` under ONNX Runtime's CUDA or
  TensorRT execution provider, when the installed onnxruntime has them (``onnxruntime-gpu``);
- ``torch-fp32`` / ``torch-bf16`` / ``torch-fp16``: the same weights (the bundle's
  ``weights.pt``) in PyTorch on ``--device`` (fp32 with cuDNN's TF32; bf16 and fp16 as autocast
  of the network, decoding and NMS in float32), channels-last; the way to measure where only
  the CPU build of onnxruntime is installed;
- the baseline, in the same run: ``ort-cpu`` (the bundle under ONNX Runtime on every CPU core)
  at batch 1 and 8.

Two figures per row: images/s with the batch already on the device (the model alone), and with
the float32 batch copied from pinned host memory each time (what a server that preprocesses on
the CPU gets). The command that the device session runs (``benchmarks/device_session.sh``):

    python benchmarks/bench_gpu.py --bundle models/default --size 640 --json bench_gpu.json

On a machine without a GPU, ``--device cpu`` runs the torch rows on the CPU (the test suite does
that, small, to keep this script working).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from xscreen.models.card import load_bundle
from xscreen.models.detector import ExportableDetector
from xscreen.training.checkpoint import load_checkpoint
from xscreen.training.export import model_from_checkpoint

GOAL_IMAGES_PER_S = 1000.0
ORT_GPU_PROVIDERS = {"ort-tensorrt": "TensorrtExecutionProvider",
                     "ort-cuda": "CUDAExecutionProvider"}


@dataclass
class Row:
    engine: str
    batch: int
    images_per_s: float            # the batch already on the device
    images_per_s_with_copy: float | None   # copied from pinned host memory each time
    median_ms: float               # one batch, on-device input
    peak_memory_mib: float | None


def timed(run: Callable[[], object], seconds: float, synchronize: Callable[[], None],
          warmup: int = 3, min_runs: int = 5) -> list[float]:
    """Per-call seconds of ``run``: ``warmup`` untimed calls, then calls for ``seconds`` (at least
    ``min_runs``), each ended by ``synchronize`` so that asynchronous GPU work is counted."""
    for _ in range(warmup):
        run()
    synchronize()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < deadline:
        start = time.perf_counter()
        run()
        synchronize()
        times.append(time.perf_counter() - start)
    return times


def throughput(batch: int, times: list[float]) -> float:
    return batch * len(times) / sum(times)


def torch_model(bundle: Path, device: torch.device) -> ExportableDetector:
    """The bundle's weights (``weights.pt``) as the exported graph computes them."""
    detector = model_from_checkpoint(load_checkpoint(bundle / "weights.pt"))
    return ExportableDetector(detector).eval().to(device, memory_format=torch.channels_last)


def torch_rows(model: ExportableDetector, device: torch.device, size: int, batches: list[int],
               seconds: float, precisions: list[str]) -> list[Row]:
    rows = []
    for precision in precisions:
        for batch in batches:
            rows.append(torch_row(model, device, size, batch, precision, seconds))
            print(format_row(rows[-1]), flush=True)
    return rows


def torch_row(model: ExportableDetector, device: torch.device, size: int, batch: int,
              precision: str, seconds: float) -> Row:
    """One batch size at one precision: on-device input, then copied from pinned memory."""
    cuda = device.type == "cuda"
    synchronize = torch.cuda.synchronize if cuda else (lambda: None)
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    host = torch.rand(batch, 3, size, size)
    if cuda:
        host = host.pin_memory()
        torch.cuda.reset_peak_memory_stats(device)
    on_device = host.to(device).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def forward(images: torch.Tensor) -> torch.Tensor:
        # the network at reduced precision, decoding and NMS in float32 (as validation does:
        # exp() of a float16 box distance can overflow)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            outputs = model.detector(images)
        return model.postprocess(outputs.to_float())

    def copy_and_forward() -> torch.Tensor:
        return forward(host.to(device, non_blocking=True).contiguous(
            memory_format=torch.channels_last))

    resident = timed(lambda: forward(on_device), seconds, synchronize)
    copied = timed(copy_and_forward, seconds, synchronize) if cuda else None
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    return Row(f"torch-{precision}", batch, throughput(batch, resident),
               throughput(batch, copied) if copied else None,
               statistics.median(resident) * 1e3, peak)


def ort_rows(onnx_path: Path, engine: str, providers: list[str], size: int, batches: list[int],
             seconds: float, threads: int | None = None) -> list[Row]:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=providers)
    name = session.get_inputs()[0].name
    rows = []
    for batch in batches:
        feed = {name: np.random.default_rng(0).random((batch, 3, size, size), np.float32)}
        times = timed(partial(session.run, None, feed), seconds, lambda: None)
        # ONNX Runtime copies the host batch to the GPU inside run(): one figure serves both
        rows.append(Row(engine, batch, throughput(batch, times),
                        None if engine == "ort-cpu" else throughput(batch, times),
                        statistics.median(times) * 1e3, None))
        print(format_row(rows[-1]), flush=True)
    return rows


def format_row(row: Row) -> str:
    copied = f"{row.images_per_s_with_copy:10.0f}" if row.images_per_s_with_copy else f"{'-':>10}"
    peak = f"{row.peak_memory_mib:8.0f}" if row.peak_memory_mib is not None else f"{'-':>8}"
    return (f"{row.engine:<13} {row.batch:>5} {row.images_per_s:>10.0f} {copied} "
            f"{row.median_ms:>9.2f} {peak}")


def machine(device: torch.device) -> dict[str, object]:
    info: dict[str, object] = {
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "torch": torch.__version__, "onnxruntime": ort.__version__,
        "onnxruntime_providers": ort.get_available_providers(), "device": str(device)}
    if device.type == "cuda":
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default="models/default")
    parser.add_argument("--size", type=int, default=640, help="square input side (default 640)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "fp16"],
                        choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--device", default="cuda", help="torch device (default cuda)")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per row")
    parser.add_argument("--cpu-batches", type=int, nargs="+", default=[1, 8],
                        help="batches of the ONNX Runtime CPU baseline")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    bundle = Path(args.bundle)
    try:
        card = load_bundle(bundle).card
    except Exception as error:  # a missing or tampered bundle: say so, exit 2
        print(f"bench_gpu: {error}", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"bench_gpu: --device {args.device}, but torch {torch.__version__} sees no CUDA "
              "GPU; use --device cpu to run the torch rows on the CPU", file=sys.stderr)
        return 2
    if args.size <= 0 or args.size % 32:
        print(f"bench_gpu: --size must be a positive multiple of 32, got {args.size}",
              file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(f"bundle {bundle} ({card.name} {card.version}), input {args.size}x{args.size}; "
          f"{json.dumps(machine(device))}")
    print(f"{'engine':<13} {'batch':>5} {'images/s':>10} {'with copy':>10} {'median ms':>9} "
          f"{'peak MiB':>8}")
    onnx_path = bundle / "model.onnx"
    rows = ort_rows(onnx_path, "ort-cpu", ["CPUExecutionProvider"], args.size, args.cpu_batches,
                    args.seconds, threads=os.cpu_count())
    available = ort.get_available_providers()
    for engine, provider in ORT_GPU_PROVIDERS.items():
        if provider in available:
            try:
                rows += ort_rows(onnx_path, engine, [provider, "CPUExecutionProvider"],
                                 args.size, args.batches, args.seconds)
            except Exception as error:  # a provider listed but unusable (missing libraries)
                print(f"{engine}: not run ({str(error).splitlines()[0]})")
        else:
            print(f"{engine}: not run (onnxruntime {ort.__version__} has no {provider})")
    rows += torch_rows(torch_model(bundle, device), device, args.size, args.batches,
                       args.seconds, args.precisions)

    baseline = max(r.images_per_s for r in rows if r.engine == "ort-cpu")
    best = max(rows, key=lambda r: r.images_per_s)
    verdict = "met" if best.images_per_s >= GOAL_IMAGES_PER_S else "not met"
    print(f"best: {best.engine} at batch {best.batch}, {best.images_per_s:.0f} images/s "
          f"({best.images_per_s / baseline:.1f}x the ONNX Runtime CPU baseline's "
          f"{baseline:.0f}); goal {GOAL_IMAGES_PER_S:.0f} images/s at 640 on one GPU: {verdict}"
          + ("" if args.size == 640 and device.type == "cuda" else
             " (not the goal's setting: 640 on a GPU)"))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"bundle": str(bundle), "version": card.version, "size": args.size,
             "machine": machine(device), "rows": [asdict(r) for r in rows],
             "goal_images_per_s": GOAL_IMAGES_PER_S, "best": asdict(best)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
