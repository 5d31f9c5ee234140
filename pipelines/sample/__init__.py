"""A deterministic, seeded synthetic practice: canonical (and vendor) exports plus a truth file.

``generate()`` builds the canonical export rows of a practice of ``children`` children over
``months`` months ending on ``end``, with planted patterns the analytics should find
(declining engagement, stalled goals, drop-outs, low attendance, rating gaps, reliable change
on standardised measures, a child-led engagement effect of known size). Everything is
vectorised with numpy/pyarrow (no loop per session), so 50,000 children (~2M rows) take
seconds. The same seed gives byte-identical files.

``write_sample()`` writes the files: the canonical export as two overlapping monthly exports
with corrections, malformed rows and spelling variety (``split=True``), or one clean file;
the vendor format as an .xlsx ("Appointments" sheet) and a semicolon Latin-1 CSV; and
``truth.json`` describing what was planted.

    python -m pipelines sample --children 150 --months 12 --seed 7 --out data/sample --format both
    python -m pipelines.sample ...   (the same flags)

To change                               open
  who the children, therapists, teams   people.py (and constants.py for the vocabulary)
  are, when they start and leave
  the schedule, attendance, approach,   sessions.py
  duration, setting
  engagement and the planted decline    engagement.py
  goals and GAS ratings                 goals.py
  standardised measures                 measures.py (SD, reliability, direction:
                                        measures.toml)
  the export rows and ids               rows.py
  the truth file                        truth.py (the writers add exports and defects)
  the order of the draws                model.py (``build``)
  the canonical CSV files               canonical.py; planted defects: defects.py
  the vendor files                      vendor.py (headers, dates, sheet, spellings:
                                        profiles/vendor_pms.toml)
  the command line                      command.py
"""

from .command import main
from .constants import (APPROACHES, ATTENDANCE, COLUMNS, DOMAINS, MEASURE_NAMES, MODALITIES, SETTINGS,
                        TEAMS)
from .model import build, generate
from .write import write_sample

__all__ = ["APPROACHES", "ATTENDANCE", "COLUMNS", "DOMAINS", "MEASURE_NAMES", "MODALITIES", "SETTINGS",
           "TEAMS", "build", "generate", "main", "write_sample"]
