"""The theory's orders — what a user asks `predict` (and every entry point) for; a dependency-free module, so the
command line can validate `--order` with it before anything heavy is imported. What each order means and which
solvers answer it: `sslscape.theory.solvers` (docs/theory.md §8)."""

from __future__ import annotations

from enum import StrEnum

from .errors import UserError


class Order(StrEnum):
    """auto (the default everywhere: the first solver of the table that covers the spec), quartic, learned_point,
    per_direction or exact (the numerical referee)."""

    AUTO = "auto"
    QUARTIC = "quartic"
    LEARNED_POINT = "learned_point"
    PER_DIRECTION = "per_direction"
    EXACT = "exact"


ORDERS: tuple[str, ...] = tuple(o.value for o in Order)
ORDER_HELP = ("auto (default: the first solver of the table that covers the spec — its best closed form, else a "
              "numerical solve, announced with its estimate), quartic, learned_point, per_direction or exact (the "
              "numerical referee); docs/theory.md §8")


def as_order(order: str | Order | None) -> Order:
    """The order named by `order` (None: auto); UserError (one line) for anything else."""
    if order is None:
        return Order.AUTO
    try:
        return Order(str(order))
    except ValueError:
        raise UserError(f"order must be one of {', '.join(ORDERS)}; got {order!r}") from None


__all__ = ["ORDERS", "ORDER_HELP", "Order", "as_order"]
