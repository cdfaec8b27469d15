"""giving-day-sim: a discrete-event simulator of online charity giving days.

The package in layers, each importing only those below it:

- :mod:`sim.codes`: the shared codes (rule-row layout, modes, flags, the donor record);
- :mod:`sim.schema`: what a config may say (typed dataclasses) and :mod:`sim.checks`: the
  checks of its values, one function a section;
- :mod:`sim.policies`: the matching rules, one class each, with their kernel behaviour;
- :mod:`sim.model`: the campaign (calendar, donors, projects, pools, gaming, choice,
  arrivals, settlement, series), which returns a frozen result (:mod:`sim.model.result`);
- :mod:`sim.outputs`: tables, report and figures, read from the result;
- :mod:`sim.runner`: one run into its own folder; :mod:`sim.studies`: sweeps gathered, the
  reproduction report, the calibration; :mod:`sim.app`: the Hydra app on top.
"""
