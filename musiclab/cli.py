"""The ``musiclab`` command: build and inspect data, render MIDI, train, tune and sample.

    musiclab data build [--corpus essen ...] [--subset default] [--refresh]
    musiclab data info
    musiclab render IN.mid OUT.wav [--soundfont PATH] [--rate 22050]

Every subcommand is a small function below; the real work lives in the package.
"""
from __future__ import annotations

import argparse
import sys

from musiclab.errors import MusiclabError

DATA_SOURCES = ("essen", "oneill", "chorales", "calming", "drums", "bars")


def _build_source(source: str, subset: str, refresh: bool) -> str:
    """Build (or load from cache) one data source; return a one-line summary."""
    if source in ("essen", "oneill", "chorales"):
        from musiclab.data.corpus import load_melodies

        return load_melodies(source, subset=subset, refresh=refresh).summary()
    if source == "calming":
        from musiclab.data.calming import calming_tunes

        return f"calming: {len(calming_tunes())} Essen lullabies and evening songs"
    if source == "drums":
        from musiclab.data.drums import load_grooves

        return load_grooves(refresh=refresh).summary()
    from musiclab.data.bars import load_launchpad_bars

    bars = load_launchpad_bars(refresh=refresh)
    return f"bars: {len(bars):,} launchpad bars of shape {tuple(bars.shape[1:])}"


def cmd_data_build(args: argparse.Namespace) -> None:
    for source in args.corpus:
        subset = args.subset if source in ("essen", "oneill", "chorales") else "default"
        print(_build_source(source, subset, args.refresh))


def cmd_data_info(args: argparse.Namespace) -> None:
    from musiclab.audio import available_soundfonts
    from musiclab.runtime import cache_dir

    folder = cache_dir()
    files = sorted(folder.glob("*"))
    print(f"cache folder: {folder} ({len(files)} files, "
          f"{sum(f.stat().st_size for f in files) / 1e6:.1f} MB; set MUSICLAB_CACHE to move it)")
    for f in files:
        print(f"  {f.name:60s} {f.stat().st_size / 1e6:8.2f} MB")
    print("SoundFonts: " + ", ".join(str(p) for p in available_soundfonts()))


def cmd_render(args: argparse.Namespace) -> None:
    from musiclab.audio import render_midi_file

    out = render_midi_file(args.midi, args.wav, sample_rate=args.rate, soundfont=args.soundfont)
    print(f"wrote {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musiclab", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="build or inspect the data caches")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    build = data_commands.add_parser("build", help="build (or reuse) the caches of data sources")
    build.add_argument("--corpus", nargs="+", default=["essen", "calming"], choices=DATA_SOURCES,
                       help="sources to build (default: essen calming)")
    build.add_argument("--subset", default="default",
                       help="corpus subset: default, all, or a collection name (melody corpora only)")
    build.add_argument("--refresh", action="store_true", help="rebuild even when cached")
    build.set_defaults(func=cmd_data_build)
    info = data_commands.add_parser("info", help="show the cache folder and SoundFonts")
    info.set_defaults(func=cmd_data_info)

    render = commands.add_parser("render", help="render a MIDI file to a WAV file")
    render.add_argument("midi", help="input .mid file")
    render.add_argument("wav", help="output .wav file")
    render.add_argument("--soundfont", default=None, help="SoundFont .sf2 (default: TimGM6mb)")
    render.add_argument("--rate", type=int, default=22050, help="sample rate in Hz (default 22050)")
    render.set_defaults(func=cmd_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``musiclab`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except MusiclabError as error:
        print(f"musiclab: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
