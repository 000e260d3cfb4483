"""The argument parser of ``musiclab``: every subcommand, its options and their help."""
from __future__ import annotations

import argparse

from musiclab.cli.commands import (cmd_data_build, cmd_data_info, cmd_generate, cmd_launchpad_train,
                                   cmd_render, cmd_train, cmd_tune, cmd_vae)
from musiclab.cli.options import (DATA_SOURCES, DEFAULT_PRESETS, LAUNCHPAD_PRESETS, LAUNCHPAD_Q_FUNCTIONS, LAUNCHPAD_STARTS, TRAINABLE,
                                  TRAIN_CORPORA, TRAIN_PRESETS)
from musiclab.limits import LIMITS, OPTIONS as LIMIT_OPTIONS


def _add_launchpad_parser(commands) -> None:
    """``musiclab launchpad train``: the options of :func:`musiclab.launchpad.dqn.train_agent`."""
    launchpad = commands.add_parser("launchpad", help="the RL-DJ launchpad")
    launchpad_commands = launchpad.add_subparsers(dest="launchpad_command", required=True)
    train = launchpad_commands.add_parser("train", help="train a launchpad DQN and save it",
                                          description="Train a DQN on a launchpad of the shipped bars "
                                                      "and save it (with the command that made it).")
    train.add_argument("--q-function", default="mlp", choices=LAUNCHPAD_Q_FUNCTIONS,
                       help="linear or mlp Q-function (default mlp)")
    train.add_argument("--preset", default="fast", choices=LAUNCHPAD_PRESETS, help="DQNConfig preset (default fast)")
    for option, dest, default, text in (
            ("--steps", "steps", None, "training steps (default: preset)"),
            ("--notes", "notes", 8, "launchpad rows"), ("--beats-log2", "beats_log2", 4, "B: 2^B steps a bar"),
            ("--k", "k", 16, "real target bars"), ("--max-steps", "episode_steps", 16, "actions an episode"),
            ("--env-seed", "env_seed", 0, "seed of the target bars"),
            ("--seed", "seed", 0, "seed of the network and the agent"),
            ("--threads", "threads", 1, "torch CPU threads (1: fastest for these small networks)")):
        train.add_argument(option, dest=dest, type=int, default=default,
                           help=text if default is None else f"{text} (default {default})")
    train.add_argument("--start", default="random", choices=LAUNCHPAD_STARTS,
                       help="episode start state (default random)")
    train.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=cmd_launchpad_train)


PRIMER_HELP = ("typed notes such as \"C4 D4 E4 - - G4 . C5\" (one 16th step each; - holds, . rests), a .mid or "
               ".abc file (melodies); a drum .mid or typed drums such as \"kick . snare .\" (drum models)")


def _add_piece_options(parser, what: str, length: int) -> None:
    """The options ``sample`` and ``compose`` share: output, count, length, primer, seed, tempo, limits."""
    parser.set_defaults(func=cmd_generate)
    parser.add_argument("out", help="output .mid, or .musicxml (sheet music, melodies); several: OUT-0, OUT-1, ...")
    parser.add_argument("--primer", default=None, help=f"your tune to start from: {PRIMER_HELP}")
    parser.add_argument("--n", type=int, default=1, help=f"number of {what}s (default 1)")
    parser.add_argument("--length", type=int, default=None,
                        help=f"events per {what}, the primer's included (default {length}; drums 32)")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--tempo", type=float, default=120.0, help="tempo in quarter notes per minute")
    for name, option in (("max_steps", "--length"), ("max_pieces", "--n")):
        parser.add_argument(LIMIT_OPTIONS[name], type=int, default=None,
                            help=f"refuse a {option} above this (default {getattr(LIMITS, name):,})")


def _add_vae_parser(commands) -> None:
    """``musiclab vae encode`` and ``musiclab vae interpolate``: your tunes through a MusicVAE."""
    vae_commands = commands.add_parser("vae", help="encode or morph your tunes with a MusicVAE").add_subparsers(
        dest="vae_command", required=True)
    for name, text, tune in (("encode", "print your tune's latent code z (--out: write it decoded back)", "your tune"),
                             ("interpolate", "walk the latent space from tune A to tune B (--to)", "tune A")):
        parser = vae_commands.add_parser(name, help=text)
        parser.add_argument("model", help="a MusicVAE: a shipped name (music_vae_cpu) or a .pt file")
        parser.add_argument("--primer", required=True, help=f"{tune}, its first 2 bars (32 steps): {PRIMER_HELP}")
        parser.add_argument("--tempo", type=float, default=120.0, help="tempo in quarter notes per minute")
        parser.set_defaults(func=cmd_vae)
    vae_commands.choices["encode"].add_argument("--out", help="write the tune decoded back (.mid or .musicxml)")
    morph = vae_commands.choices["interpolate"]
    morph.add_argument("out", help="output .mid or .musicxml: OUT-0 (tune A) ... OUT-k (tune B)")
    morph.add_argument("--to", required=True, help="tune B (as --primer)")
    morph.add_argument("--steps", type=int, default=5, help="melodies along the path, ends included (default 5)")
    morph.add_argument("--method", default="slerp", choices=("slerp", "lerp"), help="path (default slerp)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musiclab", description="The musiclab command: build and inspect data, render MIDI, train, tune, sample and compose.")
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
    render.add_argument("--engine", default="auto", choices=("auto", "fluidsynth", "simple"), help="synthesizer")
    render.add_argument("--max-seconds", dest="max_render_seconds", type=float, default=None,
                        help=f"refuse to render more audio than this (default {LIMITS.max_render_seconds:g} s)")
    render.add_argument("--max-notes", type=int, help=f"refuse more notes than this (default {LIMITS.max_notes:,})")
    render.set_defaults(func=cmd_render)

    fit = commands.add_parser("train", help="train a model on a corpus and save a checkpoint",
                              description="Train a model preset on a corpus's training split; print the "
                                          "validation NLL and accuracy; save a checkpoint.")
    fit.add_argument("model", choices=TRAINABLE, help="what to train")
    fit.add_argument("--preset", default=None, help="model shape and training recipe; " + "; ".join(
        f"{model}: {', '.join(names)} (default {DEFAULT_PRESETS[model]})" for model, names in TRAIN_PRESETS.items()))
    fit.add_argument("--corpus", default=None,
                     help=f"note-rnn: {', '.join(TRAIN_CORPORA)} (default essen) or a folder of your MIDI / ABC "
                          "files; music-vae: essen or a folder; note-cnn: mma or a drum MIDI folder")
    fit.add_argument("--subset", default=None,
                     help="corpus subset: default, all, a collection name such as kinder0; chorales: sample")
    fit.add_argument("--seed", type=int, default=0, help="seeds the initial weights, batches and dropout")
    fit.add_argument("--split-seed", type=int, help="seed of the train/valid/test split (default 0)")
    fit.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    for option, (kind, text) in {
            "--steps": (int, "optimizer steps"), "--batch-size": (int, "windows per step"),
            "--lr": (float, "(initial) learning rate"), "--window": (int, "window length in events"),
            "--hop": (int, "events between training windows (default: window; tokens 1)"),
            "--eval-every": (int, "steps between validations"),
            "--threads": (int, "torch CPU threads while training (alias --num-threads)"),
            "--hidden": (int, "LSTM units per layer"), "--layers": (int, "LSTM layers"),
            "--dropout": (float, "dropout"), "--embedding": (int, "input embedding size")}.items():
        names = (option, "--num-threads") if option == "--threads" else (option,)
        fit.add_argument(*names, type=kind, default=None, help=f"{text} (default: the preset's)")
    fit.add_argument("--device", default=None, help="torch device (note-rnn: CUDA when present; others: cpu)")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.set_defaults(func=cmd_train)

    sample = commands.add_parser("sample", help="sample a trained model (from your primer) into files")
    sample.add_argument("model", help="a shipped checkpoint name (e.g. note_rnn_fast, drum_cnn_fast) or a .pt file")
    _add_piece_options(sample, "sample", 128)
    composer = commands.add_parser("compose", help="compose with a tuned network (from your primer) into files")
    composer.add_argument("model", help="a tuned Q-network: shipped (rl_tuner_dqn, drum_q_groove) or tune's .pt")
    _add_piece_options(composer, "composition", 32)
    composer.add_argument("--epsilon", type=float, default=0.0, help="share of steps drawn from the prior")
    _add_vae_parser(commands)

    tune = commands.add_parser("tune", help="tune a trained model with reinforcement learning")
    tune.add_argument("--model", default="melody", choices=("melody", "drums"),
                      help="melody: the Note-RNN with music-theory rules; drums: the Note-CNN")
    tune.add_argument("--base", default=None,
                      help="checkpoint to tune (default: shipped note_rnn_fast / drum_cnn_fast)")
    tune.add_argument("--algorithm", default=None, help="melody only: dqn, psi or g (default dqn)")
    tune.add_argument("--preset", default=None, help="melody only: TunerConfig preset (default fast)")
    tune.add_argument("--rules", default=None, help="drums only: none, groove or variety (default none)")
    tune.add_argument("--epsilon", type=float, default=None, help="drums only: exploration (default 0.1)")
    tune.add_argument("--episodes", type=int, default=None, help="compositions to tune on (default: preset)")
    tune.add_argument("--rules-only", action="store_true", help="drop the log p reward (reference agent)")
    tune.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tune.add_argument("--out", required=True, help="Q-network checkpoint to write (.pt)")
    tune.add_argument("--quiet", action="store_true", help="no progress bars")
    tune.set_defaults(func=cmd_tune)

    _add_launchpad_parser(commands)
    return parser
