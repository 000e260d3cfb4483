"""A start-once ``mma`` for :mod:`musiclab.data.grooves`, run with mma's own Python interpreter.

Starting ``mma`` costs about 0.1 s of CPU (Python and mma's modules load), as much as rendering a
library file's grooves. This server loads mma's modules once, then runs every mma command line
it reads in a forked copy of itself: each run starts from the state right after the imports, as
a fresh ``mma`` process does, and writes the same MIDI file. Protocol, one line each way: stdin
gets a JSON list ``[log file, mma arguments...]``, stdout answers the run's exit status (the
run's own output goes to the log file). The server ends at the end of its stdin, so it ends
with the process that started it. Standard library only: mma's interpreter has no musiclab.

    MMA_HOME=/usr/share/mma python3 mma_forkserver.py /usr/bin/mma
"""
import json
import os
import platform as _platform
import sys

if __name__ == "__main__":
    # what mma's own script sets up: its folder first on sys.path (not ours), and MMAdir and
    # platform in __main__, which MMA.gbl imports
    SCRIPT = sys.argv[1]
    MMAdir = os.path.abspath(os.environ["MMA_HOME"])
    platform = _platform.system()
    sys.path[0] = os.path.dirname(os.path.abspath(SCRIPT))
    if MMAdir not in sys.path:
        sys.path.insert(0, MMAdir)
    # every module MMA.main imports; importing MMA.main itself runs mma
    import MMA.auto  # noqa: F401,E402
    import MMA.common  # noqa: F401,E402
    import MMA.debug  # noqa: F401,E402
    import MMA.docs  # noqa: F401,E402
    import MMA.file  # noqa: F401,E402
    import MMA.gbl  # noqa: F401,E402
    import MMA.midi  # noqa: F401,E402
    import MMA.midifuncs  # noqa: F401,E402
    import MMA.options  # noqa: F401,E402
    import MMA.parse  # noqa: F401,E402
    import MMA.paths  # noqa: F401,E402
    import MMA.safe_eval  # noqa: F401,E402
    import MMA.tempo  # noqa: F401,E402
    import MMA.writeMid  # noqa: F401,E402

    for line in sys.stdin:
        log, *args = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the run: output to the log, then exactly what mma's script does
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            sys.argv = [SCRIPT, *args]
            import MMA.main  # noqa: F401,E402  (runs mma; its errors exit through SystemExit)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
