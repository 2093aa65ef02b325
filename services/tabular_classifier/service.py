"""The tabular classifier as a BentoML service: POST /predict with {"records": [...]}.

    bentoml serve services.tabular_classifier.service:TabularClassifier

Requests are validated by BentoML against contract.Batch before `predict` runs: a missing,
unknown, non-numeric, negative or non-finite feature, or an empty or oversized batch, is
answered 400 with pydantic's error list naming the field. The model is the latest
`tabular-classifier` in the store at build time; a bento carries that version inside it.
"""

from __future__ import annotations

from typing import Final

import bentoml
import numpy as np

from services.tabular_classifier.contract import (
    CLASS_LABELS,
    FEATURES,
    MODEL_NAME,
    Batch,
    Prediction,
)

# A batch of MAX_BATCH rows scores in milliseconds; the limit only catches a wedged worker.
REQUEST_TIMEOUT_SECONDS: Final = 10


@bentoml.service(
    name=MODEL_NAME,
    workers=1,
    traffic={"timeout": REQUEST_TIMEOUT_SECONDS},
    labels={"owner": "ml-platform", "application": "tabular-classifier"},
)
class TabularClassifier:
    # A model reference on the class is how `bentoml build` knows to pack the model.
    stored_model = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")

    def __init__(self) -> None:
        metadata = self.stored_model.info.metadata
        trained_on = (
            tuple(metadata.get("features", ())),
            tuple(metadata.get("class_labels", ())),
        )
        # Fail at start-up, not per request, if the model's columns or classes are not the
        # contract's: its coefficients would be applied to the wrong features.
        if trained_on != (FEATURES, CLASS_LABELS):
            raise RuntimeError(
                f"{self.stored_model.tag} was trained on features and classes {trained_on}, "
                "not those in contract.py; retrain with services.tabular_classifier.train"
            )
        self.pipeline = bentoml.sklearn.load_model(self.stored_model)

    # bentoml.api comes from _bentoml_sdk, which ships no py.typed: mypy sees Any.
    @bentoml.api  # type: ignore[untyped-decorator]
    def predict(self, records: Batch) -> list[Prediction]:
        """The most probable class of each record, with its probability."""
        rows = np.array([record.as_row() for record in records], dtype=np.float64)
        probabilities = self.pipeline.predict_proba(rows)
        winners = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=CLASS_LABELS[int(self.pipeline.classes_[column])],
                probability=float(row[column]),
            )
            for row, column in zip(probabilities, winners, strict=True)
        ]
