"""The Telegram side of the digest bot: commands, storage, scheduling, rendering and delivery.

Built on `summaries/`, which stays free of Telegram and database imports.
"""
