"""A minimal two-command Typer app: the start-up baseline of `run.py --cases startup`.

python benchmarks/typer_app.py --help
python benchmarks/typer_app.py hello --name world
"""

import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Greet someone."""
    typer.echo(f"hello {name}")


@app.command()
def goodbye(name: str = "world") -> None:
    """Say goodbye."""
    typer.echo(f"goodbye {name}")


if __name__ == "__main__":
    app()
