"""`python -m bench`: run the benchmark suite and print the table of ratios."""

from bench._run import main

if __name__ == "__main__":
    raise SystemExit(main())
