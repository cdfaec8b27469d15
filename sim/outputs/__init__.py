"""What a run writes: tables and the summary, the report, the figures, the gift ledger.

The names of every file a run can write are here (:data:`RUN_FILES`), so that a run that
starts in a folder clears exactly those (:mod:`sim.runner`), whatever it writes itself.
"""

TABLES = (
    "projects",
    "organisations",
    "enterprises",
    "days",
    "minutes",
    "gift_sizes",
    "events",
    "flowers",
)
FIGURES = ("campaign.png", "days.png", "lorenz.png", "gift_sizes.png", "flowers.png")
GIFT_LEDGER = "gifts.parquet"
# every file of a run folder the runner writes (Hydra's .hydra/ and log are Hydra's)
RUN_FILES = (
    "config.yaml",
    "status.json",
    "error.txt",
    "summary.json",
    "report.md",
    "reported_vs_simulated.csv",
    *(f"{t}.parquet" for t in TABLES),
    *FIGURES,
    GIFT_LEDGER,
    GIFT_LEDGER + ".partial",
)
