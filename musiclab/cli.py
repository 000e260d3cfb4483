"""The ``musiclab`` command: build and inspect data, render MIDI, train, tune and sample.

    musiclab data build [--corpus essen ...] [--subset default] [--refresh]
    musiclab data info
    musiclab render IN.mid OUT.wav [--soundfont PATH] [--rate 22050]
    musiclab train note-rnn --preset fast --corpus essen --seed 0 --out MODEL.pt [--steps N ...]
    musiclab train note-cnn --preset fast --seed 0 --out CNN.pt [--steps N ...]
    musiclab train music-vae --preset cpu --steps 4000 --seed 0 --out VAE.pt
    musiclab sample|compose MODEL OUT.mid|OUT.musicxml [--primer "C4 D4 - G4"|tune.mid|tune.abc] [--length N] [--n 1]
    musiclab vae encode|interpolate MODEL --primer TUNE ...
    musiclab tune --model melody --algorithm dqn --seed 0 --out Q.pt   (or --model drums --rules groove)
    musiclab launchpad train --q-function mlp --seed 0 --out AGENT.pt

Every subcommand is a small function below; the real work lives in the package.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from musiclab.errors import MusiclabError
from musiclab.limits import LIMITS, OPTIONS as LIMIT_OPTIONS, limits_set

DATA_SOURCES = ("essen", "oneill", "chorales", "calming", "drums", "bars")
#: Models ``musiclab train`` trains, and the presets each knows (model shape and training recipe).
TRAINABLE = ("note-rnn", "note-cnn", "music-vae")
#: The preset ``musiclab train MODEL`` uses without --preset.
DEFAULT_PRESETS = {"note-rnn": "fast", "note-cnn": "fast", "music-vae": "cpu"}
NOTE_RNN_PRESETS = ("fast", "rl_tuner", "therapy", "classic")
#: Corpora ``musiclab train`` reads (see ``musiclab.models.melody_data.CORPORA``).
TRAIN_CORPORA = ("essen", "oneill", "chorales", "chorale-tokens")
#: ``musiclab train`` options that override a NoteRNNConfig / TrainConfig field: option -> field.
MODEL_OPTIONS = {"hidden": "hidden_size", "layers": "num_layers", "dropout": "dropout",
                 "embedding": "embedding_dim"}
TRAIN_OPTIONS = {"steps": "steps", "batch_size": "batch_size", "lr": "lr", "window": "window",
                 "eval_every": "eval_every", "threads": "num_threads"}
#: ``musiclab launchpad train`` choices (``musiclab.launchpad.dqn.Q_FUNCTIONS``, ``DQN_PRESETS`` and
#: ``musiclab.launchpad.env.STARTS``), named here so that the parser loads no torch.
LAUNCHPAD_Q_FUNCTIONS = ("linear", "mlp")
LAUNCHPAD_PRESETS = ("fast", "paper")
LAUNCHPAD_STARTS = ("empty", "random")


def _build_source(source: str, subset: str, refresh: bool) -> str:
    """Build (or load from cache) one data source; return a one-line summary."""
    if source in ("essen", "oneill", "chorales"):
        from musiclab.data.corpus import load_melodies

        return load_melodies(source, subset=subset, refresh=refresh).summary()
    if source == "calming":
        from musiclab.data.calming import calming_tunes

        return f"calming: {len(calming_tunes())} Essen lullabies and evening songs"
    if source == "drums":
        from musiclab.data.grooves import load_grooves

        return load_grooves(refresh=refresh).summary()
    from musiclab.launchpad.bars import load_launchpad_bars

    bars = load_launchpad_bars(refresh=refresh)
    return f"bars: {len(bars):,} launchpad bars of shape {tuple(bars.shape[1:])}"


def cmd_data_build(args: argparse.Namespace) -> None:
    for source in args.corpus:
        subset = args.subset if source in ("essen", "oneill", "chorales") else "default"
        print(_build_source(source, subset, args.refresh))


def cmd_data_info(args: argparse.Namespace) -> None:
    from musiclab.audio import available_soundfonts
    from musiclab.data.cache import cache_entries
    from musiclab.runtime import cache_dir

    folder = cache_dir()
    files = cache_entries()
    print(f"cache folder: {folder} ({len(files)} cache files, "
          f"{sum(f.stat().st_size for f in files) / 1e6:.1f} MB; set MUSICLAB_CACHE to move it)")
    for f in files:
        print(f"  {f.name:60s} {f.stat().st_size / 1e6:8.2f} MB")
    print("SoundFonts: " + ", ".join(str(p) for p in available_soundfonts()))


def cmd_render(args: argparse.Namespace) -> None:
    from musiclab.audio import render_midi_file

    out = render_midi_file(args.midi, args.wav, sample_rate=args.rate, soundfont=args.soundfont)
    print(f"wrote {out}")


def cmd_train(args: argparse.Namespace) -> None:
    """Train a Note-RNN preset on a corpus (or the drum Note-CNN on the grooves, or the MusicVAE on
    Essen 2-bar windows); save weights, config, command and figures to --out."""
    from musiclab.runtime import check_output_path

    check_output_path(args.out, "checkpoint")
    args.preset = args.preset or DEFAULT_PRESETS[args.model]
    if args.model == "note-cnn":
        return _train_note_cnn(args)
    if args.model == "music-vae":
        return _train_music_vae(args)
    from musiclab.models.note_rnn_training import train_note_rnn

    model_overrides = {f: getattr(args, o) for o, f in MODEL_OPTIONS.items() if getattr(args, o) is not None}
    train_overrides = {f: getattr(args, o) for o, f in TRAIN_OPTIONS.items() if getattr(args, o) is not None}
    _, valid = train_note_rnn(args.out, args.preset, args.corpus, seed=args.seed, subset=args.subset,
                              split_seed=args.split_seed, hop=args.hop, model_overrides=model_overrides,
                              train_overrides=train_overrides, device=args.device, quiet=args.quiet,
                              command=args.command_line, announce=lambda text: print(text, flush=True))
    out = Path(args.out)
    print(f"validation: NLL {valid['nll']:.4f} nats/step, accuracy {valid['accuracy']:.4f} "
          f"({valid['steps']} steps, {valid['stop_reason']}, {valid['seconds']:.1f} s, "
          f"{valid['steps_per_second']:.1f} steps/s)")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


#: ``musiclab train`` options a MusicVAE run does not take (it always trains on Essen 2-bar windows).
VAE_UNUSED_OPTIONS = ("window", "hop", "threads", "hidden", "layers", "dropout", "embedding", "device")


def _train_music_vae(args: argparse.Namespace) -> None:
    """Train a MusicVAE preset on Essen 2-bar windows (``musiclab.models.vae_training``); print its figures."""
    from musiclab.errors import BadParameterError
    from musiclab.models.vae_training import TRAIN_DEFAULTS, train_music_vae

    unused = [f"--{name.replace('_', '-')}" for name in VAE_UNUSED_OPTIONS if getattr(args, name) is not None]
    if args.corpus != "essen" or args.subset != "default":
        unused.append("--corpus/--subset")
    if unused:
        raise BadParameterError(f"train music-vae does not take {', '.join(unused)}: it trains on the Essen "
                                "2-bar windows; its options are --preset, --steps, --seed, --batch-size, --lr, "
                                "--eval-every, --out, --quiet")
    options = {name: getattr(args, name) if getattr(args, name) is not None else default
               for name, default in TRAIN_DEFAULTS.items()}
    _, figures = train_music_vae(args.preset, args.steps if args.steps is not None else 4000, args.seed,
                                 args.out, args.quiet, **options)
    for key in ("train_seconds", "test_reconstruction_accuracy", "test_teacher_forced_accuracy",
                "test_kl_bits", "test_recon_nats"):
        print(f"{key}: {figures[key]}")
    print(f"wrote {args.out}")


def _train_note_cnn(args: argparse.Namespace) -> None:
    """Train the drum Note-CNN on the mma groove split (``musiclab.models.drum_data``)."""
    from musiclab.models.drum_data import train_drum_cnn

    overrides = {field: getattr(args, option) for option, field in
                 (("steps", "steps"), ("eval_every", "eval_every"), ("threads", "num_threads"))
                 if getattr(args, option) is not None}
    _, history = train_drum_cnn(args.preset, args.seed, args.out, quiet=args.quiet, **overrides)
    print(f"validation: {', '.join(f'{k} {v[-1]:.4f}' for k, v in history.valid.items())}; wrote {args.out}")


#: Options of ``musiclab tune`` that only one kind of model takes: option -> the --model that takes it.
TUNE_ONLY_FOR = {"rules": "drums", "epsilon": "drums", "algorithm": "melody", "preset": "melody"}


def _check_tune_options(args: argparse.Namespace) -> None:
    """Refuse an option the chosen --model does not take, and a count below 1, before any work."""
    from musiclab.errors import BadParameterError

    unused = [f"--{name}" for name, model in TUNE_ONLY_FOR.items()
              if model != args.model and getattr(args, name) is not None]
    if unused:
        raise BadParameterError(f"tune --model {args.model} does not take {', '.join(unused)} "
                                f"(only --model {'drums' if args.model == 'melody' else 'melody'} does)")
    if args.episodes is not None and args.episodes < 1:
        raise BadParameterError(f"--episodes must be at least 1, got {args.episodes}")


def cmd_tune(args: argparse.Namespace) -> None:
    """Tune a shipped (or given) sequence model with RL and save the Q-network to --out."""
    _check_tune_options(args)
    episodes = {} if args.episodes is None else {"episodes": args.episodes}
    if args.model == "drums":
        from musiclab.rl.drum_tuning import tune_drums_from_checkpoint

        rules = None if args.rules in (None, "none") else args.rules
        epsilon = 0.1 if args.epsilon is None else args.epsilon
        tuner = tune_drums_from_checkpoint(args.base or "drum_cnn_fast", rules, epsilon,
                                           not args.rules_only, args.seed, args.out, args.quiet, **episodes)
    else:
        from musiclab.rl.tuner import tune_from_checkpoint

        overrides = dict(episodes)
        if args.rules_only:
            overrides.update(learned_reward=False, c_range=None)
        tuner = tune_from_checkpoint(args.base or "note_rnn_fast", args.algorithm or "dqn", args.preset or "fast",
                                     args.seed, args.out, args.quiet, **overrides)
    history = tuner.history
    print(f"tuned {history.transitions:,} transitions in {history.seconds:.1f} s "
          f"({history.stop_reason}); wrote {args.out}")


def cmd_generate(args: argparse.Namespace) -> None:
    """sample a Note-RNN / drum Note-CNN, or compose with a tuned Q-network, from --primer; write MIDI or MusicXML."""
    from musiclab.rl.primed import compose_tune, continue_tune, piece_paths, write_pieces

    piece_paths(args.out, args.n)  # the output is checked before any work
    if args.command == "sample":
        pieces = continue_tune(args.model, args.n, args.length, args.temperature, args.seed, args.primer)
    else:
        pieces = compose_tune(args.model, args.n, args.length, args.temperature, args.epsilon, args.seed, args.primer)
    print("\n".join(write_pieces(pieces, args.out, args.tempo)))


def cmd_vae(args: argparse.Namespace) -> None:
    """Encode your tune with a MusicVAE (print z, write it decoded back) or morph between two tunes."""
    from musiclab.rl.primed import encode_tune, morph_tunes, piece_paths, write_pieces

    if args.out:
        piece_paths(args.out, 1 if args.vae_command == "encode" else args.steps)
    if args.vae_command == "encode":
        z, pieces = encode_tune(args.model, args.primer)
        print(f"z ({len(z)} numbers): " + " ".join(f"{v:+.2f}" for v in z))
    else:
        pieces = morph_tunes(args.model, args.primer, args.to, args.steps, args.method)
    print("\n".join(write_pieces(pieces, args.out, args.tempo) if args.out else pieces.notes))


def cmd_launchpad_train(args: argparse.Namespace) -> None:
    """Train a DQN on a launchpad of the shipped bars and save it (``musiclab.launchpad.dqn.train_agent``)."""
    from musiclab.launchpad.dqn import train_agent
    from musiclab.runtime import check_output_path

    check_output_path(args.out, "checkpoint")
    agent, out = train_agent(args.out, q_function=args.q_function, preset=args.preset, steps=args.steps,
                             notes=args.notes, beats_log2=args.beats_log2, k=args.k, max_steps=args.max_steps,
                             start=args.start, env_seed=args.env_seed, seed=args.seed, threads=args.threads,
                             quiet=args.quiet, command=args.command_line)
    print(f"{agent.summary()}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


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
    train.add_argument("--steps", type=int, default=None, help="training steps (default: preset)")
    train.add_argument("--notes", type=int, default=8, help="launchpad rows (default 8)")
    train.add_argument("--beats-log2", type=int, default=4, help="B: 2^B steps a bar (default 4)")
    train.add_argument("--k", type=int, default=16, help="real target bars (default 16)")
    train.add_argument("--max-steps", type=int, default=16, help="actions an episode (default 16)")
    train.add_argument("--start", default="random", choices=LAUNCHPAD_STARTS,
                       help="episode start state (default random)")
    train.add_argument("--env-seed", type=int, default=0, help="seed of the target bars")
    train.add_argument("--seed", type=int, default=0, help="seed of the network and the agent")
    train.add_argument("--threads", type=int, default=1,
                       help="torch CPU threads (default 1: fastest for these small networks)")
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
    render.add_argument("--max-seconds", dest="max_render_seconds", type=float, default=None,
                        help=f"refuse to render more audio than this (default {LIMITS.max_render_seconds:g} s)")
    render.set_defaults(func=cmd_render)

    fit = commands.add_parser("train", help="train a model on a corpus and save a checkpoint",
                              description="Train a model preset on a corpus's training split; print the "
                                          "validation NLL and accuracy; save a checkpoint.")
    fit.add_argument("model", choices=TRAINABLE, help="what to train")
    fit.add_argument("--preset", default=None,
                     help=f"model shape and training recipe; note-rnn: {', '.join(NOTE_RNN_PRESETS)} (default fast); "
                          "note-cnn: fast (default), paper; music-vae: cpu (default), small, big, hierarchical "
                          "(music-vae always trains on Essen 2-bar windows on the CPU)")
    fit.add_argument("--corpus", default="essen", choices=TRAIN_CORPORA,
                     help="melodies (essen, oneill, chorales sopranos) or chorale-tokens (notes and chords)")
    fit.add_argument("--subset", default="default",
                     help="corpus subset: default, all, a collection name such as kinder0; chorales: sample")
    fit.add_argument("--seed", type=int, default=0, help="seeds the initial weights, batches and dropout")
    fit.add_argument("--split-seed", type=int, default=0, help="seed of the train/valid/test split")
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
    fit.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``musiclab`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "musiclab " + shlex.join(argv)
    # a --max-... option raises (or lowers) that limit for this command only
    changed = {name: getattr(args, name) for name in LIMIT_OPTIONS if getattr(args, name, None) is not None}
    try:
        with limits_set(**changed):
            args.func(args)
    except MusiclabError as error:
        print(f"musiclab: error: {error}", file=sys.stderr)
        return 2
    return 0

if __name__ == "__main__":
    sys.exit(main())
