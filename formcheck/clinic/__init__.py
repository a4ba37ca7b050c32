"""For therapists and clinics: the session store, the dashboard, safety questions and the
therapist's report over weeks."""
