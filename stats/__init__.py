"""The figures the programs keep and hand out: bounded-memory timing histograms, and the --stats-json file."""
