"""Exercises for the eight notebooks, with checks that give feedback and reference solutions.

One module per notebook (``nb00`` … ``nb07``) holds that notebook's checks and registers its
exercises; the reference solutions live apart in ``musiclab.exercises.solutions``. In a notebook:
``from musiclab.exercises import nb02; nb02.check("02.1", tonic_ending)``.
"""
from musiclab.exercises.feedback import Feedback
from musiclab.exercises.registry import EXERCISES, Exercise, exercise
from musiclab.exercises import nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07  # registers their exercises

__all__ = ["Feedback", "Exercise", "EXERCISES", "exercise"]
