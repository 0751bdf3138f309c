"""What a data engineer meets in the first hour: global options, honest errors, ranges.

Every case here was once a traceback, an invented result or a silently wrong file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from c360.synth import SynthOptions
from tests.core.cli_helpers import c360


@pytest.fixture(scope="module")
def empty_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised bank-demo workspace: contracts, no data."""
    from c360.workspace import Workspace

    root = tmp_path_factory.mktemp("first") / "ws"
    Workspace.init(root, template="bank-demo").close()
    return root


def _one_line_error(res, code: str) -> None:  # type: ignore[no-untyped-def]
    assert res.code == 1, (res.out, res.err)
    first = res.err.strip().splitlines()[0]
    assert first.startswith(f"error [{code}]:"), res.err


def test_version_and_global_workspace_before_the_subcommand(capsys, empty_ws):
    from c360 import __version__

    res = c360(capsys, "--version")
    assert (res.code, res.out.strip()) == (0, f"c360 {__version__}")
    for flag in ("-w", "--workspace"):
        res = c360(capsys, flag, str(empty_ws), "tables", "--json")
        assert res.code == 0, res.err
        assert json.loads(res.out) == []


def test_command_workspace_wins_over_the_global_one(capsys, empty_ws, tmp_path):
    res = c360(capsys, "-w", str(tmp_path), "tables", "-w", str(empty_ws), "--json")
    assert res.code == 0, res.err
    res = c360(capsys, "-w", str(tmp_path), "tables")
    _one_line_error(res, "workspace.not_found")


def test_log_file_records_commands_without_their_values(capsys, empty_ws):
    c360(capsys, "-w", str(empty_ws), "lineage", "trace", "--golden", "G-secret-value")
    text = (empty_ws / "logs" / "c360.log").read_text()
    assert "command: c360 lineage trace" in text
    assert "exit 1" in text
    assert "G-secret-value" not in text


def test_verbose_logs_to_stderr_and_quiet_hides_progress(capsys, empty_ws):
    res = c360(capsys, "-v", "-w", str(empty_ws), "tables")
    assert "INFO c360: command: c360 tables" in res.err
    res = c360(capsys, "-q", "-w", str(empty_ws), "tables")
    assert res.code == 0 and res.err == ""


@pytest.mark.parametrize("customers", ["5", "0", "1", "-5"])
def test_synth_refuses_customers_out_of_range(capsys, tmp_path, customers):
    res = c360(capsys, "-w", str(tmp_path), "synth", "--customers", customers)
    _one_line_error(res, "synth.bad_option")
    assert "from 10 to 50,000,000" in res.err
    assert not (tmp_path / "landing").exists()


@pytest.mark.parametrize(
    ("field", "value"), [("days", -1), ("seed", -3), ("typo_rate", 1.5), ("hard_factor", 0.5)]
)
def test_synth_options_have_ranges(field, value):
    from c360.errors import C360Error

    with pytest.raises(C360Error) as err:
        SynthOptions(**{field: value})
    assert err.value.code == "synth.bad_option"
    assert err.value.details["option"] == field


def test_eval_without_an_identity_run_is_an_error(capsys, empty_ws):
    truth = empty_ws / "truth.csv"
    truth.write_text("source,source_key,person_id\ncrm_contacts,1,P1\n")
    res = c360(capsys, "-w", str(empty_ws), "identity", "eval", "--truth", str(truth))
    _one_line_error(res, "identity.not_run")
    assert "precision" not in res.out


@pytest.mark.parametrize("value", ["2", "0", "-0.1"])
def test_eval_auto_link_must_be_a_probability(capsys, empty_ws, value):
    res = c360(
        capsys, "-w", str(empty_ws), "identity", "eval", "--truth", "t.csv", "--auto-link", value
    )
    _one_line_error(res, "identity.bad_threshold")


def test_run_on_an_empty_workspace_says_what_to_do(capsys, empty_ws):
    res = c360(capsys, "-w", str(empty_ws), "run")
    _one_line_error(res, "run.no_data")
    assert "c360 synth" in res.err and "landing" in res.err


def test_lineage_of_an_unknown_golden_id_is_an_error(capsys, empty_ws):
    res = c360(capsys, "-w", str(empty_ws), "lineage", "trace", "--golden", "G1")
    _one_line_error(res, "lineage.not_found")


@pytest.mark.parametrize("name", ["x.xlsx", "x.json", "x"])
def test_crosswalk_refuses_formats_it_cannot_write(capsys, empty_ws, tmp_path, name):
    res = c360(capsys, "-w", str(empty_ws), "export", "crosswalk", "--out", str(tmp_path / name))
    _one_line_error(res, "export.unsupported_format")
    assert not (tmp_path / name).exists()


def test_rejected_rows_are_listed_without_json(capsys, empty_ws, tmp_path):
    bad = tmp_path / "consent.csv"
    bad.write_text(
        "id_type,identifier,purpose,channel,status\n"
        "email,a@example.com,marketing,email,granted\n"
        "email,b@example.com,marketing,email,maybe\n"
    )
    res = c360(capsys, "-w", str(empty_ws), "consent", "import", str(bad))
    _one_line_error(res, "consent.import_rejected")
    assert "row 3: unknown status 'maybe'" in res.err
    res = c360(capsys, "-w", str(empty_ws), "consent", "import", str(bad), "--json")
    assert json.loads(res.out)["error"]["details"]["rejected"][0]["row"] == 3


def test_suppression_rejected_rows_are_listed_without_json(capsys, empty_ws, tmp_path):
    bad = tmp_path / "dnc.csv"
    bad.write_text("identifier\nnot-a-phone\n+14155550100\n")
    res = c360(
        capsys,
        "-w",
        str(empty_ws),
        "suppression",
        "import",
        str(bad),
        "--list",
        "dnc_national",
        "--id-type",
        "phone",
    )
    _one_line_error(res, "suppression.import_rejected")
    assert "row 2:" in res.err


@pytest.mark.parametrize(
    "args",
    [
        ["review", "list", "--limit", "0"],
        ["runs", "--limit", "0"],
        ["audit", "list", "--limit", "-1"],
    ],
)
def test_limits_are_ranged(capsys, empty_ws, args):
    res = c360(capsys, "-w", str(empty_ws), *args)
    assert res.code == 2, res.err


def test_help_starts_without_heavy_imports():
    """``c360 --help`` must not import pydantic, Delta, DuckDB or pyarrow (start-up time)."""
    code = (
        "import sys; sys.argv = ['c360', '--help']\n"
        "from c360.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pydantic', 'deltalake', 'duckdb', 'pyarrow', 'sqlalchemy', 'rich')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Commands:" in proc.stdout and "identity" in proc.stdout
    assert "HEAVY []" in proc.stdout, proc.stdout[-300:]


def test_status_says_what_is_stale_and_what_to_run(capsys, tmp_path):
    from c360.workspace import Workspace

    root = tmp_path / "ws"
    Workspace.init(root, template="bank-demo").close()
    res = c360(capsys, "-w", str(root), "status", "--json")
    assert res.code == 0, res.err
    states = {r["stage"]: r["state"] for r in json.loads(res.out)}
    assert states == {"ingest": "fresh", "identity": "nothing to do", "consent": "nothing to do"}
    (root / "landing" / "crm_contacts").mkdir(parents=True, exist_ok=True)
    (root / "landing" / "crm_contacts" / "day1.csv").write_text("contact_id\n1\n")
    res = c360(capsys, "-w", str(root), "status")
    assert "ingest     stale" in res.out and "1 landing file(s) not loaded yet" in res.out
    assert "c360 ingest" in res.out
