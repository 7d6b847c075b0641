"""One module per ``ketch`` command: ``configure(parser)`` and ``run(args, ctx) -> int``."""
