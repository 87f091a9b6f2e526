"""`python -m podscope`: the same as the `podscope` command."""

from podscope.cli import main

main()
