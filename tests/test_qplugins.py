"""``manage.py qplugins``: the plugin listing, as a table and as JSON."""

import json
from io import StringIO

from django.core.management import call_command

from djq.hookspecs import hookimpl
from djq.plugins import PluginInfo, plugins


def run(*args):
    out = StringIO()
    call_command("qplugins", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_table_shows_orm_broker_and_core_serializers():
    out = run()
    lines = out.splitlines()
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "REGISTERS"]
    orm = next(line for line in lines if "djq-orm" in line)
    assert "brokers: orm" in orm
    core = next(line for line in lines if line.startswith("core "))
    assert "serializers: json, pickle" in core


def test_json_parses_and_matches_listing():
    rows = json.loads(run("--json"))
    by_dist = {r["distribution"]: r for r in rows}
    assert by_dist["djq-orm"]["brokers"] == ["orm"]
    assert by_dist["djq-orm"]["version"]
    assert {"pickle", "json"} <= set(by_dist["djq"]["serializers"])
    assert all(r["error"] is None for r in rows)
    assert rows == plugins.listing()


class BrokenPlugin:
    @hookimpl
    def djq_register_brokers(self, registry):
        raise RuntimeError("kafka client missing")


def test_plugin_failing_in_its_hook_is_listed_with_error(plugin_manager):
    plugin_manager.register(BrokenPlugin(), "broken-test")
    out = run()
    assert "broken-test" in out
    assert "FAILED TO LOAD" in out
    assert "error: djq_register_brokers: RuntimeError('kafka client missing')" in out
    row = next(r for r in json.loads(run("--json")) if r["name"] == "broken-test")
    assert "kafka client missing" in row["error"]
    # The working plugins are still listed and usable.
    assert "orm" in plugins.brokers()


def test_plugin_failing_to_import_is_listed_with_error():
    # What Plugins._load_entry_points records for an entry point whose import raised.
    plugins.manager  # load first, so the entry is not overwritten by a later load
    plugins.info["ghost"] = PluginInfo("ghost", "djq-ghost", "0.3",
                                       error="ModuleNotFoundError(\"No module named 'ghost'\")")
    try:
        out = run()
        ghost = next(line for line in out.splitlines() if line.startswith("ghost "))
        assert "djq-ghost" in ghost and "0.3" in ghost and "FAILED TO LOAD" in ghost
        assert "No module named 'ghost'" in out
        row = next(r for r in json.loads(run("--json")) if r["name"] == "ghost")
        assert row["brokers"] == [] and "No module named" in row["error"]
        assert "ghost" in plugins.failures()
    finally:
        plugins.info.pop("ghost", None)
