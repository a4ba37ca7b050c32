"""`formcheck serve`: the therapist's local dashboard (Flask, templates, local assets only)."""
