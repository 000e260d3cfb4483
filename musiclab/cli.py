"""The ``musiclab`` command: build and inspect data, render MIDI, train, tune and sample.

    musiclab data build [--corpus essen ...] [--subset default] [--refresh]
    musiclab data info
    musiclab render IN.mid OUT.wav [--soundfont PATH] [--rate 22050] [--engine auto]
    musiclab train note-rnn --preset fast --corpus essen --seed 0 --out MODEL.pt [--steps N ...]   (or --corpus FOLDER)
    musiclab train note-cnn --preset fast --seed 0 --out CNN.pt [--corpus DRUM_FOLDER] [--steps N ...]
    musiclab train music-vae --preset cpu --steps 4000 --seed 0 --out VAE.pt [--corpus MY_FOLDER]
    torchrun --nproc_per_node=N -m musiclab.cli train ...          (DistributedDataParallel)
    musiclab sample MODEL OUT.mid [--length 128] [--temperature 1.0] [--seed 0] [--n 1]
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
from musiclab.limits import LIMITS, OPTIONS as LIMIT_OPTIONS

DATA_SOURCES = ("essen", "oneill", "chorales", "calming", "drums", "bars")
#: Models ``musiclab train`` trains, and the presets each knows (model shape and training recipe).
TRAINABLE = {"note-rnn": "Note-RNN", "note-cnn": "Note-CNN", "music-vae": "MusicVAE"}
#: The preset ``musiclab train MODEL`` uses without --preset, and the presets each knows.
DEFAULT_PRESETS = {"note-rnn": "fast", "note-cnn": "fast", "music-vae": "cpu"}
NOTE_RNN_PRESETS = ("fast", "rl_tuner", "therapy", "classic")
TRAIN_PRESETS = {"note-rnn": NOTE_RNN_PRESETS, "note-cnn": ("fast", "paper"),
                 "music-vae": ("cpu", "small", "big", "hierarchical")}
#: Corpora ``musiclab train`` reads by name (``melody_data.CORPORA``); any other --corpus is a folder.
TRAIN_CORPORA = ("essen", "oneill", "chorales", "chorale-tokens")
#: The --corpus of ``musiclab train MODEL`` without one.
DEFAULT_CORPORA = {"note-rnn": "essen", "note-cnn": "mma", "music-vae": "essen"}
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
#: File name endings ``musiclab sample`` writes MIDI to.
MIDI_SUFFIXES = (".mid", ".midi")
#: Options (by dest) that count something: at least 1; seeds: at least 0; amounts: above 0 and finite.
COUNTS = ("n", "length", "steps", "batch_size", "window", "hop", "eval_every", "threads", "hidden", "layers",
          "embedding", "episodes", "notes", "beats_log2", "k", "episode_steps", "max_steps", "max_pieces",
          "max_notes")
SEEDS = ("seed", "split_seed", "env_seed")
AMOUNTS = ("temperature", "tempo", "lr", "max_render_seconds")
#: ``musiclab train`` options each model takes (the rest are refused for it before any work).
TRAIN_FLAGS = ("corpus", "subset", "split_seed", "hop", "device", *MODEL_OPTIONS, *TRAIN_OPTIONS)
TRAIN_TAKES = {"note-rnn": TRAIN_FLAGS, "note-cnn": ("corpus", "steps", "eval_every", "threads", "device"),
               "music-vae": ("corpus", "steps", "batch_size", "lr", "eval_every", "device")}


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-").replace("episode-steps", "max-steps").replace("render-", "")


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse a count below 1, a negative seed, and a non-positive amount, before any work."""
    from musiclab.errors import BadParameterError

    for dest in (*COUNTS, *SEEDS, *AMOUNTS):
        value, low = getattr(args, dest, None), 1 if dest in COUNTS else 0
        if value is not None and (value < low if dest not in AMOUNTS else not 0 < value < float("inf")):
            valid = f"at least {low}" if dest not in AMOUNTS else "a finite number above 0"
            raise BadParameterError(f"{_option(dest)} must be {valid}, got {value}")


def _build_source(source: str, subset: str, refresh: bool) -> str:
    """Build (or load from cache) one data source; return a one-line summary."""
    if source in ("essen", "oneill", "chorales"):
        from musiclab.data.corpus import load_melodies

        return load_melodies(source, subset=subset, refresh=refresh).summary()
    if source == "calming":
        from musiclab.data.calming import calming_tunes

        return f"calming: {len(calming_tunes(refresh=refresh))} Essen lullabies and evening songs"
    if source == "drums":
        from musiclab.data.grooves import load_grooves

        return load_grooves(refresh=refresh).summary()
    from musiclab.launchpad.bars import load_launchpad_bars

    bars = load_launchpad_bars(refresh=refresh)
    return f"bars: {len(bars):,} launchpad bars of shape {tuple(bars.shape[1:])}"


def cmd_data_build(args: argparse.Namespace) -> None:
    from musiclab.errors import BadParameterError

    if args.subset != "default" and not set(args.corpus) & {"essen", "oneill", "chorales"}:
        raise BadParameterError(f"--subset applies to essen, oneill and chorales only, not {' '.join(args.corpus)}")
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

    out = render_midi_file(args.midi, args.wav, sample_rate=args.rate, soundfont=args.soundfont,
                           engine=args.engine)
    print(f"wrote {out}")


def cmd_train(args: argparse.Namespace) -> None:
    """Train a Note-RNN, drum Note-CNN or MusicVAE preset on a corpus or your folder; save weights,
    config, command and figures to --out (under torchrun: rank 0 prints and saves)."""
    from musiclab.errors import BadParameterError, check_choice
    from musiclab.runtime import check_output_path

    check_output_path(args.out, "checkpoint")
    args.preset = args.preset or DEFAULT_PRESETS[args.model]
    check_choice(f"{TRAINABLE[args.model]} preset", args.preset, TRAIN_PRESETS[args.model])
    unused = [_option(d) for d in TRAIN_FLAGS if getattr(args, d) is not None and d not in TRAIN_TAKES[args.model]]
    if unused:
        raise BadParameterError(f"train {args.model} does not take {', '.join(unused)}; it takes --preset, --seed, "
                                f"--out, --quiet, {', '.join(_option(d) for d in TRAIN_TAKES[args.model])}")
    args.corpus = args.corpus or DEFAULT_CORPORA[args.model]
    if args.model == "note-cnn":
        return _train_note_cnn(args)
    if args.model == "music-vae":
        return _train_music_vae(args)
    from musiclab.models.distributed import is_main
    from musiclab.models.note_rnn_training import train_note_rnn

    model_overrides = {f: getattr(args, o) for o, f in MODEL_OPTIONS.items() if getattr(args, o) is not None}
    train_overrides = {f: getattr(args, o) for o, f in TRAIN_OPTIONS.items() if getattr(args, o) is not None}
    _, valid = train_note_rnn(args.out, args.preset, args.corpus or "essen", seed=args.seed,
                              subset=args.subset or "default", split_seed=args.split_seed or 0, hop=args.hop,
                              model_overrides=model_overrides, train_overrides=train_overrides,
                              device=args.device, quiet=args.quiet,
                              command=args.command_line, announce=lambda text: print(text, flush=True))
    if not is_main():
        return
    out = Path(args.out)
    print(f"validation: NLL {valid['nll']:.4f} nats/step, accuracy {valid['accuracy']:.4f} "
          f"({valid['steps']} steps, {valid['stop_reason']}, {valid['seconds']:.1f} s, "
          f"{valid['steps_per_second']:.1f} steps/s)\ndata: {valid['report']}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def _train_music_vae(args: argparse.Namespace) -> None:
    """Train a MusicVAE preset on 2-bar windows of a corpus (``musiclab.models.vae_training``)."""
    from musiclab.models.distributed import is_main
    from musiclab.models.vae_training import TRAIN_DEFAULTS, train_music_vae

    options = {name: getattr(args, name) if getattr(args, name) is not None else default
               for name, default in TRAIN_DEFAULTS.items()}
    _, figures = train_music_vae(args.preset, args.steps if args.steps is not None else 4000, args.seed, args.out,
                                 args.quiet, corpus=args.corpus, device=args.device or "cpu", **options)
    if not is_main():
        return
    for key in ("train_seconds", "test_reconstruction_accuracy", "test_teacher_forced_accuracy",
                "test_kl_bits", "test_recon_nats"):
        print(f"{key}: {figures[key]}")
    print(f"wrote {args.out}")


def _train_note_cnn(args: argparse.Namespace) -> None:
    """Train the drum Note-CNN on the mma grooves or a drum MIDI folder (``musiclab.models.drum_data``)."""
    from musiclab.models import distributed
    from musiclab.models.drum_data import load_drum_data, train_drum_cnn

    overrides = {field: getattr(args, option) for option, field in
                 (("steps", "steps"), ("eval_every", "eval_every"), ("threads", "num_threads"))
                 if getattr(args, option) is not None}
    device = args.device or "cpu"
    with distributed.main_first(device):  # rank 0 builds a folder's cache, the others read it
        data = load_drum_data(args.corpus, quiet=args.quiet or not distributed.is_main())
    _, history = train_drum_cnn(args.preset, args.seed, args.out, data=data, quiet=args.quiet,
                                source=args.corpus, device=device, **overrides)
    if distributed.is_main():
        print(f"validation: {', '.join(f'{k} {v[-1]:.4f}' for k, v in history.valid.items())}\n"
              f"data: {data.report()}\nwrote {args.out}")


#: Options of ``musiclab tune`` that only one kind of model takes: option -> the --model that takes it.
TUNE_ONLY_FOR = {"rules": "drums", "epsilon": "drums", "algorithm": "melody", "preset": "melody"}


def _check_tune_options(args: argparse.Namespace) -> None:
    """Refuse an option the chosen --model does not take, before any work."""
    from musiclab.errors import BadParameterError

    unused = [f"--{name}" for name, model in TUNE_ONLY_FOR.items()
              if model != args.model and getattr(args, name) is not None]
    if unused:
        raise BadParameterError(f"tune --model {args.model} does not take {', '.join(unused)} "
                                f"(only --model {'drums' if args.model == 'melody' else 'melody'} does)")


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


def cmd_sample(args: argparse.Namespace) -> None:
    """Sample melodies (or notes-and-chords) from a trained Note-RNN and write them as MIDI files,
    each atomically (a file appears complete or not at all)."""
    from musiclab.audio import export_midi
    from musiclab.data.chords import tokens_to_pretty_midi
    from musiclab.data.melody import event_names, to_pretty_midi
    from musiclab.errors import BadParameterError
    from musiclab.models.melody_data import load_trained
    from musiclab.models.note_rnn import NoteRNN
    from musiclab.runtime import check_output_path

    out = check_output_path(args.out, "MIDI output")
    if out.suffix.lower() not in MIDI_SUFFIXES:
        raise BadParameterError(f"sample writes MIDI: {out} must end in {' or '.join(MIDI_SUFFIXES)}")
    trained = load_trained(args.model, device="cpu", expected_kind=NoteRNN.kind)
    samples = trained.model.sample(args.n, args.length, temperature=args.temperature, seed=args.seed)
    paths = [out] if args.n == 1 else [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(args.n)]
    for row, path in zip(samples.numpy(), paths):
        if trained.vocabulary is None:
            pm, shown = to_pretty_midi(row, tempo_bpm=args.tempo), event_names(row[:16])
        else:
            tokens = trained.vocabulary.decode(row)
            pm, shown = tokens_to_pretty_midi(tokens, tempo_bpm=args.tempo), tokens[:16]
        export_midi(pm, path)
        print(f"wrote {path}: {' '.join(shown)} ...")


def cmd_launchpad_train(args: argparse.Namespace) -> None:
    """Train a DQN on a launchpad of the shipped bars and save it (``musiclab.launchpad.dqn.train_agent``)."""
    from musiclab.launchpad.dqn import train_agent
    from musiclab.runtime import check_output_path

    check_output_path(args.out, "checkpoint")
    agent, out = train_agent(args.out, q_function=args.q_function, preset=args.preset, steps=args.steps,
                             notes=args.notes, beats_log2=args.beats_log2, k=args.k, max_steps=args.episode_steps,
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

    sample = commands.add_parser("sample", help="sample a trained model into MIDI files")
    sample.add_argument("model", help="a shipped checkpoint name (e.g. note_rnn_fast) or a .pt file")
    sample.add_argument("out", help="output .mid file (with --n above 1: OUT-0.mid, OUT-1.mid, ...)")
    sample.add_argument("--n", type=int, default=1, help="number of samples (default 1)")
    sample.add_argument("--length", type=int, default=128, help="events (16th steps, or tokens) per sample")
    sample.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument("--tempo", type=float, default=120.0, help="tempo in quarter notes per minute")
    sample.add_argument("--max-steps", type=int, default=None,
                        help=f"refuse a --length above this (default {LIMITS.max_steps:,})")
    sample.add_argument("--max-pieces", type=int, default=None,
                        help=f"refuse an --n above this (default {LIMITS.max_pieces:,})")
    sample.set_defaults(func=cmd_sample)

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
    saved = {name: getattr(LIMITS, name) for name in changed}
    try:
        check_numbers(args)
        for name, value in changed.items():
            setattr(LIMITS, name, value)
        args.func(args)
    except MusiclabError as error:
        print(f"musiclab: error: {error}", file=sys.stderr)
        return 2
    finally:
        for name, value in saved.items():
            setattr(LIMITS, name, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
