"""The API's routes on what jobs produced: loss history export, compare, predict and SVG plots, drawn in
plain Python from stored results."""
