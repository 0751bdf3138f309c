"""What the generator's truth says: oracle AUC and protected attributes of a synthetic world.

The synthetic bank world writes each person's latent ``churn_propensity`` and ``sex``
to ``truth/people.csv`` and which source records are whose to ``truth/identity.csv``.
Mapped through the identity links (a golden id takes its records' majority person),
they give the AUC the true churn probabilities achieve on the same held-out customers
(the ceiling a model of the latent propensity could reach) and the sex of each
customer for fairness checks (the sources carry no sex column).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from c360.features import open_session

if TYPE_CHECKING:
    from c360.workspace import Workspace

PERSON_OF_GOLDEN = """
SELECT golden_id, arg_max(person_id, n) AS person_id FROM (
  SELECT l.golden_id, t.person_id, count(*) AS n
  FROM gold__identity_links l JOIN _truth_ids t USING (source, source_key)
  WHERE l.is_current GROUP BY l.golden_id, t.person_id) x
GROUP BY golden_id
"""


def golden_truth(ws: Workspace, truth_dir: Path | None = None) -> pa.Table:
    """golden_id, person_id, churn_propensity, sex — from the generator's truth files."""
    truth = Path(truth_dir or ws.truth_dir)
    ids = pacsv.read_csv(
        truth / "identity.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"source_key": pa.string(), "person_id": pa.string()}
        ),
    )
    people = pacsv.read_csv(
        truth / "people.csv",
        convert_options=pacsv.ConvertOptions(
            include_columns=["person_id", "churn_propensity", "sex"],
            column_types={"person_id": pa.string()},
        ),
    )
    with open_session(ws.lakehouse, ws.engine) as s:
        s.register("_truth_ids", ids)
        s.register("_truth_people", people)
        return s.table(
            f"SELECT g.golden_id, g.person_id, p.churn_propensity, p.sex FROM ({PERSON_OF_GOLDEN}) g "
            "JOIN _truth_people p USING (person_id)"
        )


def oracle_auc(ws: Workspace, golden_ids: list[str], labels: list[float]) -> dict[str, Any]:
    """AUC of the true churn propensity on the given (held-out) rows."""
    from c360.models.train import auc

    t = golden_truth(ws)
    prop = dict(zip(t["golden_id"].to_pylist(), t["churn_propensity"].to_pylist(), strict=True))
    keep = [i for i, g in enumerate(golden_ids) if prop.get(g) is not None]
    y = np.array([labels[i] for i in keep])
    p = np.array([prop[golden_ids[i]] for i in keep])
    if len(set(y)) < 2:
        return {"auc": None, "rows": len(keep)}
    return {"auc": auc(y, p), "rows": len(keep)}


def write_protected_attributes(ws: Workspace, out: Path) -> Path:
    """golden_id, sex from the truth: the protected-attribute file of a synthetic world."""
    t = golden_truth(ws).select(["golden_id", "sex"])
    out.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(t, out)
    return out
