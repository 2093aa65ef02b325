"""What training and serving must agree on: the model's name, its 30 input features in column
order, its class labels, and the request and response records.

`Record` is the one place the feature list is written down; `FEATURES` is read off it, training
checks that the dataset's columns match it, and the service checks the stored model was trained
on it. Only pydantic here, so the bento stays small and this imports in milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME: Final = "tabular-classifier"
DATASET: Final = "sklearn.datasets.load_breast_cancer"
MAX_BATCH: Final = 1000

ClassLabel = Literal["malignant", "benign"]
# Indexed by the dataset's target: 0 malignant, 1 benign (load_breast_cancer().target_names).
CLASS_LABELS: Final[tuple[ClassLabel, ClassLabel]] = ("malignant", "benign")

# Every feature is a size, a ratio or a count of a cell nucleus: finite and never negative.
# Strict, so "12.5" in quotes is rejected rather than quietly converted; integers still pass.
Measurement = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


def field_name(dataset_feature: str) -> str:
    """The record field for a dataset column: 'mean concave points' -> 'mean_concave_points'."""
    return dataset_feature.strip().replace(" ", "_")


class Record(BaseModel):
    """One tumour's measurements, in the dataset's column order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean_radius: Measurement
    mean_texture: Measurement
    mean_perimeter: Measurement
    mean_area: Measurement
    mean_smoothness: Measurement
    mean_compactness: Measurement
    mean_concavity: Measurement
    mean_concave_points: Measurement
    mean_symmetry: Measurement
    mean_fractal_dimension: Measurement
    radius_error: Measurement
    texture_error: Measurement
    perimeter_error: Measurement
    area_error: Measurement
    smoothness_error: Measurement
    compactness_error: Measurement
    concavity_error: Measurement
    concave_points_error: Measurement
    symmetry_error: Measurement
    fractal_dimension_error: Measurement
    worst_radius: Measurement
    worst_texture: Measurement
    worst_perimeter: Measurement
    worst_area: Measurement
    worst_smoothness: Measurement
    worst_compactness: Measurement
    worst_concavity: Measurement
    worst_concave_points: Measurement
    worst_symmetry: Measurement
    worst_fractal_dimension: Measurement

    def as_row(self) -> list[float]:
        """The measurements in model column order."""
        return [getattr(self, name) for name in FEATURES]


FEATURES: Final[tuple[str, ...]] = tuple(Record.model_fields)

Batch = Annotated[list[Record], Field(min_length=1, max_length=MAX_BATCH)]


class Prediction(BaseModel):
    """The predicted class of one record and the model's probability for it."""

    model_config = ConfigDict(frozen=True)

    label: ClassLabel
    probability: float = Field(ge=0.0, le=1.0)
