"""``python -m musiclab.cli`` (and ``torchrun -m musiclab.cli``) runs the ``musiclab`` command."""
import sys

from musiclab.cli import main

sys.exit(main())
