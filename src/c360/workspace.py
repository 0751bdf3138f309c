"""``Workspace``: the one entry point. CLI, API and console are thin layers over it.

A workspace is a folder with ``c360.yaml``, ``contracts/``, ``landing/``, the
lakehouse, the operational store and a key file. Capabilities hang off it as
small namespaces (``ws.ingest(...)``, later ``ws.identity``, ``ws.consent`` …),
each created lazily so opening a workspace stays cheap.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c360.config import CONFIG_FILE, Config, Contract, load_config, load_contracts
from c360.errors import C360Error
from c360.lakehouse import Lakehouse, TableInfo
from c360.lakehouse.declarations import Declarations
from c360.store import Store
from c360.store.db import check_location, resolve_url
from c360.store.lock import WriteLock
from c360.tokens import Tokenizer, create_key_file

if TYPE_CHECKING:
    from c360.activation.service import ActivationService
    from c360.consent.service import ConsentService
    from c360.decisioning.service import DecisioningService
    from c360.engine import Engine
    from c360.experiments.service import ExperimentService
    from c360.features.service import FeatureService
    from c360.governance.audit import AuditLog
    from c360.governance.service import GovernanceService
    from c360.identity.service import IdentityService
    from c360.ingest.report import IngestReport, Progress
    from c360.models.service import ModelService
    from c360.pipeline import RunReport


def _log_wait(message: str) -> None:
    logging.getLogger("c360.lock").warning(message)


def default_root() -> Path:
    return Path(os.environ.get("C360_WORKSPACE") or Path.cwd())


class Workspace:
    """An opened c360 workspace."""

    if TYPE_CHECKING:  # capability namespaces, attached lazily at the end of this module
        identity: IdentityService
        consent: ConsentService
        governance: GovernanceService
        audit: AuditLog
        decisioning: DecisioningService
        activation: ActivationService
        experiments: ExperimentService
        features: FeatureService
        models: ModelService

    def __init__(self, root: str | Path | None = None, config: Config | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root = self.root.resolve()
        self.config = config or load_config(self.root)
        # How a writer behaves when another process holds the write lock: wait (telling
        # ``on_lock_wait``) or refuse at once (CLI ``--no-wait``, env C360_NO_WAIT=1).
        self.lock_wait: bool = os.environ.get("C360_NO_WAIT", "") not in ("1", "true", "yes")
        self.on_lock_wait: Callable[[str], None] = _log_wait
        self.recovered: dict[str, int] = {}

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, root: str | Path | None = None) -> Workspace:
        ws = cls(root)
        if not (ws.root / CONFIG_FILE).exists():
            raise C360Error(
                "workspace.not_found",
                f"{ws.root} is not a c360 workspace (no {CONFIG_FILE}); run `c360 init {ws.root}`",
            )
        return ws

    @classmethod
    def init(
        cls, root: str | Path, *, template: str = "bank-demo", force: bool = False
    ) -> Workspace:
        """Scaffold a workspace: commented config, contracts, folders and a key file."""
        from c360.scaffold import scaffold

        scaffold(Path(root), template=template, force=force)
        return cls.open(root)

    # ------------------------------------------------------------------ parts
    @property
    def landing_dir(self) -> Path:
        return self.root / self.config.ingest.landing

    @property
    def contracts_dir(self) -> Path:
        return self.root / self.config.ingest.contracts

    @property
    def truth_dir(self) -> Path:
        return self.root / "truth"

    @cached_property
    def declarations(self) -> Declarations:
        """What every table and file of this workspace holds (code + contract declarations)."""

        def stamp() -> object:
            folder = self.contracts_dir
            return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))

        return Declarations(self.contracts, stamp)

    @cached_property
    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.root / self.config.lakehouse.path, self.declarations)

    @cached_property
    def store(self) -> Store:
        url = resolve_url(self.config.store.url, self.root)
        check_location(url, self.root)
        store = Store(url)
        store.migrate()
        return store

    @cached_property
    def engine(self) -> Engine:
        """The compute engine of this workspace (``engine`` block of c360.yaml)."""
        from c360.engine import EngineSettings, create_engine

        cfg = self.config.engine
        return create_engine(
            EngineSettings(
                name=cfg.name,
                memory_limit=cfg.memory_limit,
                threads=cfg.threads,
                temp_directory=self.root / cfg.temp_directory,
                time_zone=cfg.time_zone,
                spark_master=cfg.spark_master,
                spark_conf=dict(cfg.spark_conf),
            )
        )

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return Tokenizer.from_workspace(self.root / self.config.security.token_key_file)

    @cached_property
    def _write_lock(self) -> WriteLock:
        def recover() -> None:
            self.recovered = self.store.recover_interrupted()

        return WriteLock.for_store(
            self.store.dialect,
            self.store.engine.connect,
            self.root / ".c360",
            str(self.root),
            recover,
        )

    def write_lock(self, stage: str, *, wait: bool | None = None) -> AbstractContextManager[None]:
        """Hold the workspace write lock while ``stage`` writes: one writer per workspace.

        Every stage that writes tables or the store wraps its work in it::

            with ws.write_lock("identity"):
                ...

        Re-entrant within a process; another process waits (``on_lock_wait`` is told
        who holds it) or, with ``wait=False`` / ``ws.lock_wait = False``, gets
        ``C360Error('workspace.locked')`` at once. See c360.store.lock.
        """
        return self._write_lock.hold(
            stage,
            wait=self.lock_wait if wait is None else wait,
            on_wait=self.on_lock_wait,
        )

    def contracts(self) -> dict[str, Contract]:
        """The source contracts, parsed again only when a file changed (every governed read
        consults them: parsing the YAML each time cost ~1 s per API request)."""
        folder = Path(self.contracts_dir)
        files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
        sig = tuple((f.name, st.st_mtime_ns, st.st_size) for f in files for st in [f.stat()])
        cached = getattr(self, "_contracts_cache", None)
        if cached is None or cached[0] != sig:
            cached = (sig, load_contracts(self.contracts_dir))
            self._contracts_cache = cached
        return dict(cached[1])

    # ------------------------------------------------------------------ stages
    def ingest(
        self,
        sources: list[str] | None = None,
        *,
        run_id: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest every new landing file of the given (default: all) sources."""
        import getpass

        from c360.ingest.pipeline import ingest

        report = ingest(self, sources=sources, run_id=run_id, progress=progress)
        totals = {
            k: sum(int(b.get(k, 0)) for s in report.to_dict()["sources"] for b in s["batches"])
            for k in ("rows_in", "rows_loaded", "rows_quarantined", "rows_erased")
        }
        self.audit.append(  # every ingest run is audited, with counts only
            getpass.getuser(),
            "ingest.run",
            report.run_id,
            {"sources": len(report.sources), "ok": report.ok, **totals},
        )
        return report

    def run(
        self,
        *,
        progress: Progress | None = None,
        stages: list[str] | None = None,
        engine: str | None = None,
    ) -> RunReport:
        """Run every stage of the pipeline (or only ``stages``) in order as one recorded run.

        ``engine`` (``duckdb`` or ``spark``) overrides c360.yaml's ``engine.name`` for this
        workspace object; a stage not yet on the engine seam is refused on another engine."""
        from c360.pipeline import run_pipeline

        if engine is not None and engine != self.config.engine.name:
            self.use_engine(engine)
        return run_pipeline(self, progress=progress, only=stages)

    def use_engine(self, name: str) -> None:
        """Compute on engine ``name`` from now on (``c360 run --engine``)."""
        from c360.config import EngineConfig

        if name not in ("duckdb", "spark"):
            raise C360Error(
                "engine.unknown",
                f"unknown engine {name!r}; choose duckdb or spark",
                {"engine": name},
            )
        if "engine" in self.__dict__:
            self.engine.close()
            del self.__dict__["engine"]
        engine = EngineConfig.model_validate({**self.config.engine.model_dump(), "name": name})
        self.config = self.config.model_copy(update={"engine": engine})

    def tables(self) -> list[TableInfo]:
        return self.lakehouse.tables()

    def close(self) -> None:
        """Release held connections (the consent gate keeps one per thread on PostgreSQL)."""
        if "consent" in self.__dict__:
            self.consent.gate.close()
        if "engine" in self.__dict__:
            self.engine.close()
        if "store" in self.__dict__:
            self.store.dispose()


def copy_packaged(package: str, folder: str, dest: Path, pattern: str = "*") -> list[Path]:
    """Copy package data files (e.g. demo contracts) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    src = resources.files(package).joinpath(folder)
    for entry in sorted(src.iterdir(), key=lambda e: e.name):
        if entry.is_file() and Path(entry.name).match(pattern):
            target = dest / entry.name
            with resources.as_file(entry) as p:
                shutil.copyfile(p, target)
            out.append(target)
    return out


__all__ = ["Workspace", "create_key_file", "default_root"]


def _hook(path: str) -> Any:
    """Lazy namespace: ``module:Class`` instantiated with the workspace on first use."""
    import importlib

    module, _, cls = path.partition(":")

    def get(self: Workspace) -> Any:
        return getattr(importlib.import_module(module), cls)(self)

    get.__doc__ = f"The {cls} of this workspace ({module})."
    return cached_property(get)


# Capability namespaces. Each lives in its own package and takes the workspace.
Workspace.identity = _hook("c360.identity.service:IdentityService")  # type: ignore[attr-defined]
Workspace.consent = _hook("c360.consent.service:ConsentService")  # type: ignore[attr-defined]
Workspace.governance = _hook("c360.governance.service:GovernanceService")  # type: ignore[attr-defined]
Workspace.audit = _hook("c360.governance.audit:AuditLog")  # type: ignore[attr-defined]
Workspace.decisioning = _hook("c360.decisioning.service:DecisioningService")  # type: ignore[attr-defined]
Workspace.features = _hook("c360.features.service:FeatureService")  # type: ignore[attr-defined]
Workspace.models = _hook("c360.models.service:ModelService")  # type: ignore[attr-defined]
Workspace.activation = _hook("c360.activation.service:ActivationService")  # type: ignore[attr-defined]
Workspace.experiments = _hook("c360.experiments.service:ExperimentService")  # type: ignore[attr-defined]
for _name in (
    "identity",
    "consent",
    "governance",
    "audit",
    "decisioning",
    "features",
    "models",
    "activation",
    "experiments",
):
    getattr(Workspace, _name).__set_name__(Workspace, _name)
