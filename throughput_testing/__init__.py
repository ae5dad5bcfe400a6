"""The throughput batch: 1 to 100 listeners and beyond on one multicast stream, measured, tabled, plotted."""
