"""Entry script of the packaged application: the ``commonplace`` command.

``commonplace --preview-worker KIND PATH SIDE`` runs the preview worker, which
the desktop app starts as a child process; a packaged build cannot run
``python -m app.preview_worker``.
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--preview-worker"]:
        from app.preview_worker import main as preview_worker

        sys.exit(preview_worker(sys.argv[2:]))
    from app.cli import main

    sys.exit(main())
