"""`python -m hud._cli`: the `hud` command without the console script."""

from hud._cli import main

main(prog_name="hud")
