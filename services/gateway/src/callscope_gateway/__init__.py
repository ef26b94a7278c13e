"""Gateway: public REST API, web UI, login and API keys, and the directory of campaigns."""
