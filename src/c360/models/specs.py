"""The models c360 ships: what each predicts, its label SQL and the features it may use.

Labels come from the lakehouse, not from the generator's truth:

- ``churn``: a core-banking customer with an open account at ``label_time`` who has
  closed every one of those accounts within ``horizon_days`` (censored at the
  watermark: only what has been observed counts).
- ``card_propensity``: look-alike propensity for a credit card — among core-banking
  customers at ``label_time``, who holds a card. Card features are excluded so the
  model learns from everything else the bank knows.
"""

from __future__ import annotations

from dataclasses import dataclass

CHURN_LABELS = """
WITH links AS (SELECT source_key, golden_id FROM gold__identity_links
               WHERE is_current AND source = 'core_customers'),
acc AS (SELECT l.golden_id, a.opened_at, a.closed_at FROM silver__core_accounts a
        JOIN links l ON l.source_key = a.customer_no),
t AS (SELECT label_time, least(label_time + to_days($horizon), $watermark) AS until
      FROM _label_times)
SELECT acc.golden_id, t.label_time,
       CAST(bool_and(acc.closed_at IS NOT NULL AND acc.closed_at < t.until) AS INTEGER) AS label
FROM acc CROSS JOIN t
WHERE acc.opened_at < t.label_time AND (acc.closed_at IS NULL OR acc.closed_at >= t.label_time)
GROUP BY acc.golden_id, t.label_time
"""

CARD_LABELS = """
WITH links AS (SELECT source, source_key, golden_id FROM gold__identity_links WHERE is_current),
core AS (SELECT DISTINCT l.golden_id, t.label_time FROM silver__core_accounts a
         JOIN links l ON l.source = 'core_customers' AND l.source_key = a.customer_no
         CROSS JOIN _label_times t
         WHERE a.opened_at < t.label_time AND (a.closed_at IS NULL OR a.closed_at >= t.label_time)),
card AS (SELECT DISTINCT l.golden_id, t.label_time FROM silver__card_holders c
         JOIN links l ON l.source = 'card_holders' AND l.source_key = c.card_account_id
         CROSS JOIN _label_times t WHERE c.opened_date < t.label_time)
SELECT core.golden_id, core.label_time, CAST(card.golden_id IS NOT NULL AS INTEGER) AS label
FROM core LEFT JOIN card USING (golden_id, label_time)
"""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    purpose: str
    label_sql: str
    views: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    intended_use: str = ""
    limits: str = ""


SPECS: dict[str, ModelSpec] = {
    "churn": ModelSpec(
        "churn",
        "Probability that a core-banking customer closes all accounts within the horizon.",
        CHURN_LABELS,
        (
            "product_holdings",
            "tenure",
            "life_stage",
            "digital_activity",
            "balance_trends",
            "card_spend",
            "email_engagement",
            "contact_centre",
        ),
        exclude=("is_customer",),
        intended_use="Rank customers for retention outreach (next-best-action, retention "
        "audiences). Not for credit, pricing or any adverse decision.",
        limits="Trained on the observed window only (labels censored at the watermark); "
        "churn signals in the data are mostly the last 30 days before attrition, so the "
        "score ranks near-term attrition best.",
    ),
    "card_propensity": ModelSpec(
        "card_propensity",
        "Look-alike propensity of a core-banking customer to hold a credit card.",
        CARD_LABELS,
        (
            "product_holdings",
            "tenure",
            "life_stage",
            "digital_activity",
            "balance_trends",
            "email_engagement",
        ),
        exclude=("has_card", "product_families", "product_mix", "is_customer"),
        intended_use="Rank customers without a card for a card offer (cross-sell).",
        limits="Look-alike of current holders, not a causal response model.",
    ),
}
