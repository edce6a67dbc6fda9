"""Cases: opened, coded, labelled, read, moved through their life, and forgotten; students' drafts."""
