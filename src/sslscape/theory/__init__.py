"""Theory: the quartic landscape around W = 0, its closed-form minima, the exact solver and phase diagrams."""

from .exact import ExactSolution, exact_solution
from .landscape import Landscape, landscape, quartic_loss
from .predict import Prediction, critical_values, predict
from .solve import Minimum, minimum

__all__ = ["ExactSolution", "Landscape", "Minimum", "Prediction", "critical_values", "exact_solution",
           "landscape", "minimum", "predict", "quartic_loss"]
