"""One chain of stages for live and recorded sessions (frames -> pose -> smoothing -> metrics ->
tracker -> cues), and the report pass that reads a finished session back."""
