"""One module per ``embodied`` subcommand; each has ``main(args) -> exit status``.

``embodied/cli.py`` only parses the command line and dispatches here.
"""
