"""Every command is registered once: the CLI's modules each add commands to the shared Typer
groups (app.cli.base), and a command written in two modules would silently be listed twice."""

from app.cli import cli


def _names(app) -> list[str]:
    return [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]


def test_no_command_is_registered_twice():
    groups = {"": _names(cli)} | {g.name: _names(g.typer_instance) for g in cli.registered_groups}
    for group, names in groups.items():
        assert len(names) == len(set(names)), (group, sorted(names))
    assert set(groups["jobs"]) == {"list", "retry"} and "serve" in groups[""]
