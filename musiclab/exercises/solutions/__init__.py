"""Reference solutions of the exercises, one module per notebook (``n00`` … ``n07``), kept apart from the
checks (``musiclab.exercises.nb00`` …) so that a student copy can leave them out. A notebook's
``# SOLUTION NN.k`` cell imports its answer from here; the student copy swaps that cell for the stub.
"""
