"""Worker pools that end with their parent: :func:`run_parallel` for the corpus builders.

Workers are forked where the platform can (they start in milliseconds). Each worker ignores
SIGINT (its parent stops it) and runs a thread that ends it within :data:`PARENT_POLL_S` seconds
once its parent is gone, so even a SIGKILL to the parent leaves no worker behind. While a pool
runs, SIGTERM to the parent raises SystemExit (exit status 143) and any exception (Ctrl-C's
KeyboardInterrupt, a failed job) terminates the workers before it propagates.
Used by :mod:`musiclab.data.corpus` and :mod:`musiclab.data.chords`.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Callable

from tqdm.auto import tqdm

#: Seconds between a worker's checks that its parent process is still alive.
PARENT_POLL_S = 0.2


def _worker_count(jobs: int) -> int:
    return max(1, min(os.cpu_count() or 1, jobs))


def _pool_context():
    """Fork where the platform has it (workers start in milliseconds), else the default."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _watch_parent(parent: int) -> None:
    """End this process as soon as ``parent`` (a process id) is no longer its parent."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _init_worker(parent: int) -> None:
    """Worker start: default SIGTERM, ignore SIGINT, and watch the parent process."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="musiclab-parent-watch",
                     daemon=True).start()


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


@contextmanager
def _sigterm_raises():
    """Inside: SIGTERM raises SystemExit in the main thread (when SIGTERM has its default action)."""
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel pending jobs and terminate the workers (ProcessPoolExecutor has no public call for
    this before Python 3.14, hence ``_processes``)."""
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def _run_pool(function: Callable, jobs: list, weights: list[int], results: list, bar) -> None:
    pool = ProcessPoolExecutor(_worker_count(len(jobs)), mp_context=_pool_context(),
                               initializer=_init_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(function, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            bar.update(weights[i])
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()


def run_parallel(function: Callable, jobs: list, weights: list[int], desc: str, unit: str,
                 quiet: bool) -> list:
    """``[function(job) for job in jobs]`` in worker processes (one per CPU core), in order.

    ``function`` must be a module-level function; ``weights[i]`` is how many ``unit``s job ``i``
    holds, for the progress bar. One job (or one core) runs in this process.
    """
    results: list = [None] * len(jobs)
    with tqdm(total=sum(weights), desc=desc, unit=unit, disable=quiet) as bar:
        if _worker_count(len(jobs)) == 1:
            for i, job in enumerate(jobs):
                results[i] = function(job)
                bar.update(weights[i])
            return results
        with _sigterm_raises():
            _run_pool(function, jobs, weights, results, bar)
    return results
