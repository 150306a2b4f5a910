"""The command line: the Typer app, shared options, completion and the renderers."""
