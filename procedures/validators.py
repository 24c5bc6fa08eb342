"""Kept for the migrations only: procedures 0001 and courses 0001 name the figure validator by
this path. The validators live in irlearn.figures; import them from there."""

from irlearn.figures import validate_figure_file

__all__ = ["validate_figure_file"]
