"""Train the tabular classifier and save it to the BentoML model store.

    BENTOML_DO_NOT_TRACK=True BENTOML_HOME=... python -m services.tabular_classifier.train

The breast-cancer dataset ships inside scikit-learn, so training never downloads anything. The
split and the solver are seeded: the same inputs give the same model and the same accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import bentoml

# scikit-learn ships no type information (no py.typed, no stubs in the lock).
from sklearn.datasets import load_breast_cancer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline, make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from services.tabular_classifier.contract import (
    CLASS_LABELS,
    DATASET,
    FEATURES,
    MODEL_NAME,
    field_name,
)

RANDOM_STATE: Final = 42
HELD_OUT_FRACTION: Final = 0.2
# Labels are string-valued and searchable in the store (`bentoml models list`).
MODEL_LABELS: Final = {
    "owner": "ml-platform",
    "application": "tabular-classifier",
    "dataset": "breast-cancer",
}


@dataclass(frozen=True)
class TrainedModel:
    pipeline: Pipeline
    accuracy: float  # on the held-out rows, never seen in fitting
    held_out_rows: int
    random_state: int


def train(random_state: int = RANDOM_STATE) -> TrainedModel:
    """Fit scaler + logistic regression on a stratified split and score the held-out part."""
    dataset = load_breast_cancer()
    _check_dataset_matches_contract(list(dataset.feature_names), list(dataset.target_names))
    x_train, x_test, y_train, y_test = train_test_split(
        dataset.data,
        dataset.target,
        test_size=HELD_OUT_FRACTION,
        stratify=dataset.target,
        random_state=random_state,
    )
    pipeline = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state)
    )
    pipeline.fit(x_train, y_train)
    return TrainedModel(
        pipeline=pipeline,
        accuracy=float(pipeline.score(x_test, y_test)),
        held_out_rows=len(y_test),
        random_state=random_state,
    )


def train_and_save() -> bentoml.Tag:
    """Train, then save to the store under MODEL_NAME; returns the new version's tag."""
    return save(train())


def save(trained: TrainedModel) -> bentoml.Tag:
    """A new version of MODEL_NAME in the store, with what a reviewer needs in its metadata."""
    stored: bentoml.Model = bentoml.sklearn.save_model(
        MODEL_NAME,
        trained.pipeline,
        labels=MODEL_LABELS,
        metadata={
            "dataset": DATASET,
            "features": list(FEATURES),
            "class_labels": list(CLASS_LABELS),
            "held_out_accuracy": trained.accuracy,
            "held_out_rows": trained.held_out_rows,
            "random_state": trained.random_state,
        },
    )
    return stored.tag


def _check_dataset_matches_contract(feature_names: list[str], target_names: list[str]) -> None:
    """The service's request fields and labels are written out in contract.py; a dataset whose
    columns or classes differ would make the service feed features to the wrong coefficients."""
    derived = tuple(field_name(str(name)) for name in feature_names)
    if derived != FEATURES:
        raise ValueError(f"dataset features {derived} differ from contract.FEATURES {FEATURES}")
    if tuple(str(name) for name in target_names) != CLASS_LABELS:
        raise ValueError(f"dataset classes {target_names} differ from {CLASS_LABELS}")


def main() -> None:
    trained = train()
    tag = save(trained)
    print(f"saved {tag}: held-out accuracy {trained.accuracy:.3f} on {trained.held_out_rows} rows")


if __name__ == "__main__":
    main()
