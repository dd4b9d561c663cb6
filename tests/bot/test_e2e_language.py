"""The reader's language, end to end: Telegram's language_code, /language, groups, the menu."""

from __future__ import annotations

from tests.support import updates as build

LI = build.user(2001, "Li", language_code="zh-hans")
ALICE = build.user(2002, "Alice", language_code="en")
PIERRE = build.user(2003, "Pierre", language_code="fr")
GROUP = build.group(-4101, "讨论组")


async def test_a_chinese_user_gets_chinese_and_language_en_switches_back(running_bot):
    welcome = await running_bot.command(LI, "start")
    assert "本地新闻我来替你读" in welcome.text
    help_text = await running_bot.command(LI, "help")
    assert "<b>命令</b>" in help_text.text
    assert "/language — 我使用的语言" in help_text.text
    assert "/quantum — 最新消息：量子通信" in help_text.text

    switched = await running_bot.command(LI, "language", "en")
    assert switched.text == "From now on I write in English here."
    help_text = await running_bot.command(LI, "help")
    assert "<b>Commands</b>" in help_text.text
    # The choice is stored: the user's Telegram language no longer decides.
    welcome = await running_bot.command(LI, "start")
    assert "I read the regional news" in welcome.text

    back = await running_bot.command(LI, "language", "中文")
    assert back.text == "从现在起，我在这里使用简体中文。"
    assert (await running_bot.services.store.get_chat(LI["id"])).language == "zh"


async def test_language_buttons_switch_and_say_so_in_the_new_language(running_bot):
    fake = running_bot.fake
    panel = await running_bot.command(ALICE, "language")
    assert "I write to this chat in <b>English</b>." in panel.text
    labels = [button["text"] for button in panel.buttons()]
    assert labels == ["✓ English", "简体中文"]

    query_id = fake.press_button(ALICE["id"], panel.message_id, panel.callback_data()[1], ALICE)
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "从现在起，我在这里使用简体中文。"
    edited = await fake.wait_for_edit(ALICE["id"], panel.message_id)
    assert "我在这个聊天中使用<b>简体中文</b>。" in edited.text
    assert [button["text"] for button in edited.buttons()] == ["English", "✓ 简体中文"]
    assert "<b>命令</b>" in (await running_bot.command(ALICE, "help")).text


async def test_an_unknown_language_gets_english_and_a_clear_answer(running_bot):
    welcome = await running_bot.command(PIERRE, "start")
    assert "I read the regional news" in welcome.text
    answer = await running_bot.command(PIERRE, "language", "klingon")
    assert answer.text.startswith("I do not write in “klingon” yet.")
    assert "/language zh (简体中文)" in answer.text
    assert (await running_bot.services.store.get_chat(PIERRE["id"])).language is None


async def test_a_group_speaks_the_language_its_admins_choose(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    fake.bot_added_to_group(GROUP, ALICE)
    greeting = (await fake.wait_for_messages(GROUP["id"]))[0]
    assert greeting.text.startswith("Hello, 讨论组!")

    refused = await running_bot.command(LI, "language", "zh", chat=GROUP)
    assert (
        refused.text
        == "Only this group's administrators can change its subscriptions and settings."
    )

    switched = await running_bot.command(ALICE, "language", "zh", chat=GROUP)
    assert switched.text == "从现在起，我在这里使用简体中文。"
    # Everyone in the group now reads Chinese, whatever their own app's language.
    help_text = await running_bot.command(ALICE, "help", chat=GROUP)
    assert "<b>命令</b>" in help_text.text
    # And the private chat of the admin is untouched.
    assert "<b>Commands</b>" in (await running_bot.command(ALICE, "help")).text


async def test_the_command_menu_and_description_are_published_per_language(running_bot):
    fake = running_bot.fake
    english = {entry["command"]: entry["description"] for entry in fake.commands()}
    chinese = {
        entry["command"]: entry["description"] for entry in fake.commands(language_code="zh")
    }
    assert english.keys() == chinese.keys()
    assert english["language"] == "The language I write in: /language zh"
    assert chinese["language"] == "我使用的语言：/language en"
    assert chinese["quantum"] == "最新消息：量子通信"
    assert fake.description().startswith("Regional news, condensed")
    assert fake.description(language_code="zh").startswith("本地新闻精华")


async def test_settings_and_their_buttons_speak_chinese(running_bot):
    fake = running_bot.fake
    panel = await running_bot.command(LI, "settings")
    assert panel.text.startswith("<b>设置</b>\n推送安排：每天 08:00（Asia/Shanghai）。")
    assert "下一期摘要：11月27日 周五 08:00（Asia/Shanghai）。" in panel.text
    labels = [button["text"] for button in panel.buttons()]
    assert labels[:4] == ["每小时", "✓ 每天", "每周", "关闭"]
    assert "开启链接预览" in labels and "✓ 3 条" in labels

    weekly = next(b["callback_data"] for b in panel.buttons() if b["text"] == "每周")
    query_id = fake.press_button(LI["id"], panel.message_id, weekly, LI)
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "推送频率：每星期一（原为每天）。"
    edited = await fake.wait_for_edit(LI["id"], panel.message_id)
    assert "周五" in [button["text"] for button in edited.buttons()]

    reply = await running_bot.command(LI, "bullets", "5")
    assert reply.text == "每篇要点数：5（原为3）。"
    reply = await running_bot.command(LI, "timezone")
    assert reply.text.startswith("你的时区是 Asia/Shanghai，当地时间 11月26日 周四 15:00。")


async def test_subscriptions_and_refusals_speak_chinese(running_bot):
    reply = await running_bot.command(LI, "subscribe", "quantum")
    assert reply.text.startswith("已订阅话题「<b>量子通信</b>」。")
    reply = await running_bot.command(LI, "time", "25:00")
    assert reply.text == "“25:00”不是有效的时间。请以 HH:MM 格式发送，例如 /time 08:00"
    listing = await running_bot.command(LI, "list")
    assert "<b>你关注的内容</b>\n• 话题「<b>量子通信</b>」" in listing.text
    assert "每篇 3 条要点；链接预览关闭。" in listing.text
    reply = await running_bot.command(LI, "unsubscribe", "all")
    assert reply.text == "已取消全部订阅：1 个话题。"


async def test_operators_read_stats_and_refusals_in_their_language(running_bot):
    from tests.bot.conftest import ADMIN_ID

    admin = build.user(ADMIN_ID, "Admin", language_code="zh-CN")
    stats = await running_bot.command(admin, "stats")
    assert stats.text.startswith("<b>统计</b>\n聊天：")
    assert "<b>local-news</b>: 上次抓取" in stats.text
    refused = await running_bot.command(LI, "refresh")
    assert refused.text == "抱歉，只有机器人的管理员可以使用这个命令。"


async def test_digests_and_search_results_are_headed_in_chinese(running_bot):
    await running_bot.command(LI, "subscribe", "quantum")
    digest = await running_bot.command(LI, "digest")
    assert digest.text.startswith("<b>📰 你的摘要</b> — 2026年11月26日 周四\n")
    assert "1 篇文章" in digest.text
    results = await running_bot.command(LI, "search", "nine cities")
    assert "🔎 <b>“nine cities”的搜索结果</b> · 第 1 条，共 2 条" in results.text
    assert [button["text"] for button in results.buttons()] == ["更多结果 ▸"]


async def test_chinese_replies_have_no_stray_spaces_and_chinese_examples(running_bot):
    tap = await running_bot.command(LI, "subscribe")
    assert tap.text.startswith("点按话题即可关注。例如：/subscribe 量子（话题）")
    search = await running_bot.command(LI, "search")
    assert search.text.startswith("要找什么？例如：/search 量子网络")
    topics = await running_bot.command(LI, "topics")
    assert topics.text.startswith("<b>话题</b>（点按即可关注或取消关注）")
    assert " （" not in topics.plain_text
    help_text = await running_bot.command(LI, "help")
    assert "/search — 搜索已收录的文章：/search 卫星互联网" in help_text.text
    assert "/subscribe — 关注话题或关键词：/subscribe 量子" in help_text.text
    changed = await running_bot.command(LI, "frequency", "weekly")
    assert "（原为每天）" in changed.text


async def test_a_chinese_group_is_greeted_without_stray_spaces(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [LI["id"]])
    fake.bot_added_to_group(GROUP, LI)
    greeting = (await fake.wait_for_messages(GROUP["id"]))[0]
    assert greeting.text.startswith("讨论组的各位，大家好！本地新闻我来替本群读：")
    assert "你" not in greeting.text


async def test_a_chinese_digest_lists_topics_with_the_chinese_comma(running_bot):
    await running_bot.command(LI, "subscribe", "quantum")
    await running_bot.command(LI, "subscribe", "satellite")
    await running_bot.command(LI, "subscribe", "nine cities")
    digest = await running_bot.command(LI, "digest")
    assert "话题：量子通信、Satellite internet · 关键词：<b>nine cities</b>" in digest.text
