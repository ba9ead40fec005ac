"""The texts retail sends to members, as message templates: tenants reword them, and template-only SMS providers
(China) map each code to their approved template, filled with the same variables."""
from flask_babel import lazy_gettext as _l

from storecrm.sdk import MessageTemplate

TEMPLATES = (
    MessageTemplate("retail.join_code", _l("Membership sign-up verification code (SMS)"), ("store", "code"),
                    "验证码", "Verification code",
                    "您在{store}的入会验证码：{code}，10分钟内有效。",
                    "Your membership code for {store}: {code} (valid 10 minutes)."),
    MessageTemplate("retail.coupon_issued", _l("New coupon (SMS to the member)"), ("name", "code", "day"),
                    "优惠券", "New coupon",
                    "您获得一张优惠券：{name}，券码 {code}，有效期至 {day}。",
                    "You have a new coupon: {name}, code {code}, valid until {day}."),
    MessageTemplate("retail.tier_upgraded", _l("Membership upgraded (SMS to the member)"), ("tier",),
                    "会员升级", "Membership upgraded",
                    "恭喜！您的会员等级已升为{tier}。", "Congratulations! Your membership is now {tier}."),
    MessageTemplate("retail.tier_changed", _l("Membership tier changed (SMS to the member)"), ("tier",),
                    "会员等级调整", "Membership changed",
                    "您的会员等级已调整为{tier}。", "Your membership is now {tier}."),
    MessageTemplate("retail.complaint_resolved", _l("Complaint resolved (SMS to the customer)"), (),
                    "投诉已处理", "Complaint resolved",
                    "您的投诉已处理完毕。您对处理结果满意吗？请回复 1-5 分。",
                    "Your complaint has been resolved. How satisfied are you? Reply 1-5."),
)
