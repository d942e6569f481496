"""What is made from stored scans for people and other systems: the PNG rendering (with boxes
if asked), the DICOS Threat Detection Report, and the training export (a COCO zip of the scans
operators gave verdicts on).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from xscreen.serving.decode import DecodeLimits, decode_upload
from xscreen.serving.errors import NotFoundError
from xscreen.serving.roles import Principal
from xscreen.serving.scans import ScanRepository, verdict_to_dict
from xscreen.serving.store import Scan
from xscreen.serving.training_export import Example, coco_zip, verdict_labels


class Renderings:
    """PNG, TDR and the training export over the scan repository."""

    def __init__(self, scans: ScanRepository, limits: DecodeLimits,
                 classes: Callable[[], tuple[str, ...]]) -> None:
        self.scans = scans
        self.limits = limits
        self._classes = classes       # the serving model card's class names

    def image_png(self, scan_id: str, principal: Principal, annotated: bool) -> bytes:
        """The scan's pseudo-colour rendering as PNG, with boxes if ``annotated``."""
        record = self.scans.visible(scan_id, principal)
        rgb = self._rgb(record)
        if annotated:
            from xscreen.datasets.preview import draw_boxes

            found = (record.result or {}).get("detections", [])
            rgb = draw_boxes(rgb, [d["box"] for d in found], [d["label"] for d in found],
                             [d["score"] for d in found])
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        return bytes(encoded.tobytes())

    def tdr(self, scan_id: str, principal: Principal) -> bytes:
        """The scan's DICOS Threat Detection Report."""
        from xscreen.serving.tdr import tdr_bytes

        record = self.scans.visible(scan_id, principal)
        if record.result is None:
            raise NotFoundError(f"scan {scan_id} is not screened yet; try again shortly")
        body = self.scans.scan_dict(scan_id)
        body["meta"] = record.meta
        return tdr_bytes(body)

    def training_export(self) -> bytes:
        """A COCO zip of every scan with a verdict, labelled by its latest; each image's
        ``verdicts`` holds the whole history (provenance)."""
        scans, names = self.scans.reviewed()
        examples = (Example(f"{record.id}.png", self._rgb(record), history[-1].decision,
                            verdict_labels(history[-1].decision, history[-1].labels,
                                           (record.result or {}).get("detections", [])),
                            tuple(verdict_to_dict(v, names) for v in history))
                    for record, history in scans)
        return coco_zip(examples, self._classes())

    def _rgb(self, record: Scan) -> np.ndarray:
        return decode_upload(self.scans.stored_upload(record), self.limits).rgb
