"""The choices and option groups of the ``musiclab`` command, named here so that the parser loads no torch."""

DATA_SOURCES = ("essen", "oneill", "chorales", "calming", "drums", "bars")
#: Models ``musiclab train`` trains, and the presets each knows (model shape and training recipe).
TRAINABLE = {"note-rnn": "Note-RNN", "note-cnn": "Note-CNN", "music-vae": "MusicVAE"}
#: The preset ``musiclab train MODEL`` uses without --preset, and the presets each knows.
DEFAULT_PRESETS = {"note-rnn": "fast", "note-cnn": "fast", "music-vae": "cpu"}
NOTE_RNN_PRESETS = ("fast", "rl_tuner", "therapy", "classic")
TRAIN_PRESETS = {"note-rnn": NOTE_RNN_PRESETS, "note-cnn": ("fast", "paper"),
                 "music-vae": ("cpu", "cpu_ar", "cpu_swap", "cpu_swap_wide", "small", "big", "hierarchical")}
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
