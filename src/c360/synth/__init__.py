"""The synthetic bank world: sources, ground truth, behaviour and response.

Every figure c360 reports on identity, models and experiments is checked against
this generator's truth (DESIGN.md §6), so its defaults follow real-world
prevalence and every rate is a knob on :class:`SynthOptions`.

    from c360.synth import SynthOptions, generate_world
    generate_world(Path("landing"), Path("truth"), Path("contracts"), SynthOptions())
"""

from c360.synth.options import SynthOptions, WorldSummary
from c360.synth.world import PERSON_SOURCES, SOURCES, generate_world
from c360.synth.writers import write_card_transactions_csv

__all__ = [
    "PERSON_SOURCES",
    "SOURCES",
    "SynthOptions",
    "WorldSummary",
    "generate_world",
    "write_card_transactions_csv",
]
