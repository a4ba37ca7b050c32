"""Writers of a finished session: frames.csv and summary.json, the HTML report, the annotated video."""
