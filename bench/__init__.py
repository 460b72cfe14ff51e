"""Benchmarks of the SDK and the reference server, each against a baseline doing the same work by hand.

Run `python -m bench` from the checkout (see docs/benchmarks.md); `--quick` is the tiny smoke mode.
"""
