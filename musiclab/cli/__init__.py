"""The ``musiclab`` command: build and inspect data, render MIDI, train, tune and sample.

    musiclab data build [--corpus essen ...] [--subset default] [--refresh]
    musiclab data info
    musiclab render IN.mid OUT.wav [--soundfont PATH] [--rate 22050] [--engine auto]
    musiclab train note-rnn --preset fast --corpus essen --seed 0 --out MODEL.pt [--steps N ...]   (or --corpus FOLDER)
    musiclab train note-cnn --preset fast --seed 0 --out CNN.pt [--corpus DRUM_FOLDER] [--steps N ...]
    musiclab train music-vae --preset cpu --steps 4000 --seed 0 --out VAE.pt [--corpus MY_FOLDER]
    torchrun --nproc_per_node=N -m musiclab.cli train ...          (DistributedDataParallel)
    musiclab sample|compose MODEL OUT.mid|OUT.musicxml [--primer "C4 D4 - G4"|tune.mid|tune.abc] [--length N] [--n 1]
    musiclab vae encode|interpolate MODEL --primer TUNE ...
    musiclab tune --model melody --algorithm dqn --seed 0 --out Q.pt   (or --model drums --rules groove)
    musiclab launchpad train --q-function mlp --seed 0 --out AGENT.pt

Every subcommand is a small function below; the real work lives in the package.
"""
from __future__ import annotations

import shlex
import sys

from musiclab.cli.commands import check_numbers
from musiclab.cli.parser import build_parser
from musiclab.errors import MusiclabError
from musiclab.limits import OPTIONS as LIMIT_OPTIONS, limits_set


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``musiclab`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "musiclab " + shlex.join(argv)
    # a --max-... option raises (or lowers) that limit for this command only
    changed = {name: getattr(args, name) for name in LIMIT_OPTIONS if getattr(args, name, None) is not None}
    try:
        check_numbers(args)
        with limits_set(**changed):
            args.func(args)
    except MusiclabError as error:
        print(f"musiclab: error: {error}", file=sys.stderr)
        return 2
    return 0
