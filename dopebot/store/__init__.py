"""SQLite state: one file per bot, opened read-write by the bot and read-only by viewers."""
