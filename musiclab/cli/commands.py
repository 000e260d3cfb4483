"""The subcommands of ``musiclab``: each a small function of the parsed arguments (the work lives in the package)."""
from __future__ import annotations

import argparse
from pathlib import Path

from musiclab.cli.options import (AMOUNTS, COUNTS, DEFAULT_CORPORA, DEFAULT_PRESETS, MODEL_OPTIONS, SEEDS, TRAINABLE, TRAIN_FLAGS,
                                  TRAIN_OPTIONS, TRAIN_PRESETS, TRAIN_TAKES)


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
                             notes=args.notes, beats_log2=args.beats_log2, k=args.k, max_steps=args.episode_steps,
                             start=args.start, env_seed=args.env_seed, seed=args.seed, threads=args.threads,
                             quiet=args.quiet, command=args.command_line)
    print(f"{agent.summary()}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
