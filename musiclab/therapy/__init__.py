"""A personal music-therapy session on the RL Tuner, as one system (notebook 07 teaches it).

It rebuilds the RL-Tuner-based music-therapy system: the RL Tuner of Jaques et al. (Jaques, Gu,
Bahdanau, Hernández-Lobato, Turner & Eck, "Sequence Tutor: Conservative fine-tuning of sequence
generation models with KL-control", ICML 2017, arXiv:1611.02796), whose DQN that system keeps with
its own settings (``musiclab.rl.tuner_config.therapy``, ``musiclab.models.note_rnn.therapy``), grown into a
session for one listener:

- **listener profiles**: sign up / sign in, preferences, the pieces played, every reaction and the
  personalised model, in one SQLite file (:mod:`~musiclab.therapy.profiles`);
- **real-time feedback while the music plays**: "more like this" / "less like this" or a
  calm-o-meter reading, mapped to the moment of the piece it refers to (:mod:`~musiclab.therapy.feedback`,
  the live panel :mod:`~musiclab.therapy.panel`);
- **feedback → reward → RL personalisation that persists**: a preference model over the music
  before each reaction (:mod:`~musiclab.therapy.preference`) adds a reward to the RL Tuner's, the
  listener's Q-network is re-tuned on it, the next piece is chosen to their taste with the music
  theory kept (:mod:`~musiclab.therapy.theory_match`), and the re-tuned generator is saved to their
  profile for the next session.

Modules, one job each:

- ``records``: Preferences, Profile, Piece, FeedbackEvent and the feedback kinds (``FEEDBACK_KINDS``);
- ``passwords``: scrypt password hashing and its parameters;
- ``store``: the SQLite file: location, schema, migrations, safe transactions;
- ``encoding``: values (events, settings, model state) as column bytes and back;
- ``profiles``: ``ProfileStore``, what the tables mean (sign up, sign in, pieces, feedback, model state);
- ``preference``: window features, the logistic preference model, its reward rule, simulated listeners;
- ``theory_match``: which candidate pieces keep the RL Tuner's metric table;
- ``personaliser_config``: ``PersonaliserConfig`` and its presets (``fast``, ``gentle``);
- ``feedback``: the ``Personaliser`` (feedback → preference → reward → re-tuning);
- ``simulation``: a whole session with a simulated listener (tests, notebook 07, ``bench/personalisation.py``);
- ``plots``: the session's satisfaction figure;
- ``panel``: the ipywidgets session panel of notebook 07.

This package builds on the layers below it (``musiclab.rl``, ``musiclab.eval``, ``musiclab.data``,
``musiclab.plots.core``, ...); nothing below imports it (only ``musiclab.cli``, notebooks, tests and
benchmarks do). Import the submodules, e.g. ``from musiclab.therapy import feedback``.
"""
