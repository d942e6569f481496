"""xscreen: AI X-ray screening for customs.

The subpackages follow a scan's path: ``xscreen.datasets`` (decode, synthesise, load),
``xscreen.models`` (define, card, registry), ``xscreen.training`` (train, evaluate, export) and
``xscreen.serving`` (API, pipeline, risk, viewer).
"""

__version__ = "0.1.0"

CLASSES: tuple[str, ...] = ("firearm", "narcotics", "gold", "counterfeit")
"""The contract's classes in model-index order (COCO category id = index + 1)."""
