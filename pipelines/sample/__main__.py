"""``python -m pipelines.sample ...``: the same command as ``python -m pipelines sample ...``."""

from pipelines.sample.command import main

if __name__ == "__main__":
    raise SystemExit(main())
