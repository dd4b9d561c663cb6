"""Sources that chats add themselves: settings, resolving a URL, and polling.

Owns the path URL -> (feed | page) -> articles for user sources; the chat commands are in
`bot.handlers.sources`, the rows in `bot.store.user_sources`. Every fetch goes through the URL
guard (`summaries.sources.guard`), so no user can make the bot reach a private address.
"""
