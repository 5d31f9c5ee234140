"""The synthetic practice's vocabulary: its columns, teams, modalities, goal areas, the
measures it rates and the planted groups with their shares.

What a value *means* is not repeated here: SD, reliability and direction of each measure come
from ``measures.toml`` (``measures.py``), and how the vendor system spells a value
comes from ``profiles/vendor_pms.toml`` (``vendor.py``).
"""

from __future__ import annotations

# canonical export columns, in the order the sample writes them (docs/contract.md)
COLUMNS = [
    "session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach",
    "date_of_birth", "attendance", "duration_min", "setting", "engagement", "goal_id",
    "goal_domain", "gas_level", "goal_weight", "measure", "measure_score",
]

TEAMS = ("North", "South", "East")
MODALITIES = ("CBT", "OT", "speech", "play")
CBT, OT, SPEECH, PLAY = range(4)
# specialisms of therapists by position (cycled for larger practices); every modality is
# offered in every team
SPECS = (
    (SPEECH,), (OT,), (CBT,), (PLAY, OT),                 # North  T01-T04
    (SPEECH, PLAY), (OT,), (CBT,), (SPEECH,),             # South  T05-T08
    (OT, SPEECH), (PLAY,), (CBT, PLAY), (CBT,),           # East   T09-T12
)
APPROACHES = ("child-led", "directed", "mixed")
ATTENDANCE = ("attended", "cancelled", "late-cancelled", "no-show", "clinician-cancelled")
SETTINGS = ("clinic", "home", "school", "telehealth", "community")
DOMAINS = ("communication", "motor", "self-care", "emotional regulation", "social", "play",
           "cognition", "behaviour", "feeding", "sensory")
# goal domains by modality: (domain names, probabilities)
MODALITY_DOMAINS = {
    CBT: (("emotional regulation", "behaviour", "social", "cognition"), (0.5, 0.2, 0.2, 0.1)),
    OT: (("motor", "self-care", "sensory", "feeding"), (0.4, 0.3, 0.2, 0.1)),
    SPEECH: (("communication", "feeding", "social"), (0.75, 0.1, 0.15)),
    PLAY: (("social", "play", "emotional regulation", "behaviour"), (0.35, 0.35, 0.2, 0.1)),
}
# the standardised measures the practice uses (code 0, 1) and the range of their scores:
# (lowest, highest, decimals). SD, reliability and direction are in measures.toml.
MEASURE_NAMES = ("SCAS-P", "COPM-P")
SCORE_RANGES = {"SCAS-P": (0.0, 114.0, 0), "COPM-P": (1.0, 10.0, 1)}

CHILD_LED_EFFECT_MEAN = 0.6
CHILD_LED_EFFECT_SD = 0.4

# planted groups (disjoint) and their share of children
NONE, DECLINE, STALL, DROPOUT, LOWATT, GAP, DISCHARGED = range(7)
GROUP_SHARES = ((DECLINE, 0.08), (STALL, 0.08), (DROPOUT, 0.05), (LOWATT, 0.06), (GAP, 0.05),
                (DISCHARGED, 0.03))
