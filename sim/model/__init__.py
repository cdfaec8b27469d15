"""The model: a giving-day campaign as a SimPy model over arrays (see :mod:`sim.model.campaign`)."""
