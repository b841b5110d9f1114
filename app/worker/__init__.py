"""The background worker: claims generation and check jobs from PostgreSQL.

It never imports the web layer; torch and transformers are imported only when a
generation job needs a Hugging Face backend (the `worker` extra)."""
