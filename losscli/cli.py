"""The command line (placeholder until the commands land)."""


def main() -> None:
    raise SystemExit(0)
