"""Studies over many runs: sweeps gathered, the reproduction report, the calibration."""
