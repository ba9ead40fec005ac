"""WeCom's errcodes in words an admin understands (developer.work.weixin.qq.com/document/path/90313)."""
from __future__ import annotations

ERRCODES = {
    -1: ("企业微信系统繁忙，稍后自动重试", "WeCom is busy; retried later"),
    40001: ("应用 Secret 错误或已失效", "The app secret is wrong or revoked"),
    40013: ("企业 ID（CorpID）错误", "The CorpID is wrong"),
    40014: ("access_token 无效，将重新获取", "The access token is invalid; a new one is fetched"),
    42001: ("access_token 已过期，将重新获取", "The access token expired; a new one is fetched"),
    40056: ("应用 AgentId 错误", "The AgentId is wrong"),
    60020: ("服务器 IP 不在企业微信应用的可信 IP 列表中", "This server's IP is not on the app's trusted IP list"),
    81013: ("接收人 UserID 不存在或不在应用可见范围内", "The UserID does not exist or cannot see the app"),
    82001: ("接收人不在应用可见范围内", "The recipient cannot see the app"),
    301002: ("无权限操作该成员", "No permission for this member"),
    45009: ("调用频率超过企业微信限制，稍后自动重试", "WeCom rate limit reached; retried later"),
    41001: ("缺少 access_token", "The access token is missing"),
    44004: ("消息内容为空", "The message is empty"),
}
TOKEN_CODES = (40014, 42001, 41001)
PERMANENT = (81013, 82001, 301002, 44004)


def describe(errcode: int, errmsg: str = "") -> tuple[str, str]:
    known = ERRCODES.get(errcode)
    if known is not None:
        return known
    return (f"企业微信返回错误：{errmsg}" if errmsg else "企业微信返回错误",
            f"WeCom returned an error: {errmsg}" if errmsg else "WeCom returned an error")
