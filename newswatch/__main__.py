from newswatch.cli import app

app(prog_name="newswatch")
