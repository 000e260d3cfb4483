"""The RL-DJ launchpad, one system: rebuilds "Reinforcement learning DJ" (C. Voss et al., Stanford
CS234 project, 2018; github.com/CatalinVoss/music-morph). Notebook 06 teaches it.

An agent composes one bar on a virtual launchpad. The state lives in the beat domain: per note,
toggles of staggered periodic basis vectors and an offset (:mod:`~musiclab.launchpad.buttons`);
the actions toggle a basis vector, shift an offset or do nothing; the reward is minus the least
Hamming distance to ``K`` real bars sampled from the Bach chorales (:mod:`~musiclab.launchpad.env`, a
Gymnasium environment, on the bars of :mod:`~musiclab.launchpad.bars`; its tabular view in
:mod:`~musiclab.launchpad.tabular`, its frames, MIDI and player in :mod:`~musiclab.launchpad.view`).
Tabular Q-learning with GLIE exploration and random resets, MCMC exploration and its β sweep, and
policies are in :mod:`~musiclab.launchpad.agents`; the DQN, linear vs MLP, with the shipped agents, in
:mod:`~musiclab.launchpad.dqn`. :mod:`~musiclab.launchpad.plots` draws it and
:mod:`~musiclab.launchpad.panel` lets you play it with an agent; ``musiclab launchpad train``
trains a DQN.

It rests on the foundations (errors, runtime, checkpoints, audio, data, models, the shared plot
helpers of ``musiclab.plots.core`` and ``.training``); of the package, only ``musiclab.envs`` (which
registers it as ``musiclab/Launchpad-v0``) and ``musiclab.cli`` import it.
"""
